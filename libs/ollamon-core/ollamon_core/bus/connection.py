"""Opening one service's NATS connection: reconnect forever, count what happens to it."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from pydantic import SecretStr

from ollamon_core.events import ServiceName
from ollamon_core.permissions import inbox_prefix
from ollamon_core.settings import ServiceSettings

log = logging.getLogger(__name__)

# How nats-py reports the server's `-ERR 'Permissions Violation for ...'` (lower-cased).
PERMISSIONS_VIOLATION = "permissions violation"
AUTHORIZATION_VIOLATION = "authorization violation"

RECONNECT_WAIT_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 5.0


@dataclass
class ConnectionEvents:
    """The connection's callbacks: disconnects and reconnects are counted and logged, except
    the disconnect of our own drain at shutdown (`closing`)."""

    counters: Counter[str] = field(default_factory=Counter)
    closing: bool = False

    async def on_disconnect(self) -> None:
        """nats-py's `disconnected_cb`."""
        if self.closing:
            log.debug("NATS connection closed")
            return
        self.counters["disconnects"] += 1
        log.warning("NATS disconnected")

    async def on_reconnect(self) -> None:
        """nats-py's `reconnected_cb`."""
        self.counters["reconnects"] += 1
        log.info("NATS reconnected")

    async def on_error(self, error: Exception) -> None:
        """nats-py's `error_cb` (errors it also reports through the calls that failed).

        The server's refusals are counted and logged as warnings: a permission violation
        (`permission_errors`: the call got no answer) and refused credentials.
        """
        text = str(error).lower()
        if PERMISSIONS_VIOLATION in text:
            self.counters["permission_errors"] += 1
            log.warning("NATS refused: %s", error)
        elif AUTHORIZATION_VIOLATION in text or isinstance(error, nats.errors.AuthorizationError):
            self.counters["authorization_errors"] += 1
            log.warning("NATS refused the credentials (authorization violation)")
        else:
            log.debug("NATS error: %s", error)


@dataclass(frozen=True)
class NatsLogin:
    """How a connection proves who it is: a user and password, and the CA that signed a
    TLS server's certificate (None: the system's CAs). The password stays a `SecretStr`."""

    user: str | None = None
    password: SecretStr | None = None
    tls_ca: Path | None = None

    @classmethod
    def of(cls, settings: ServiceSettings) -> NatsLogin:
        """The login a service's settings name (`OLLAMON_NATS_USER`, ...)."""
        return cls(settings.nats_user, settings.nats_password, settings.nats_tls_ca)

    async def options(self) -> dict[str, Any]:
        """nats-py `connect` options (the CA file is read off the event loop)."""
        options: dict[str, Any] = {}
        if self.user is not None:
            options["user"] = self.user
            options["password"] = self.password.get_secret_value() if self.password else ""
        if self.tls_ca is not None:
            options["tls"] = await asyncio.to_thread(
                ssl.create_default_context, cafile=str(self.tls_ca)
            )
        return options

    def __repr__(self) -> str:
        return f"NatsLogin(user={self.user!r}, tls_ca={self.tls_ca!r})"


async def open_connection(
    url: str,
    service: ServiceName,
    events: ConnectionEvents,
    *,
    login: NatsLogin | None = None,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    **options: Any,
) -> NatsClient:
    """Connect to `url` (comma-separated for a cluster), reconnecting forever afterwards.

    Replies come back on the service's own inbox prefix (`permissions.inbox_prefix`), the
    only inbox its NATS user may subscribe to.
    """
    login = login or NatsLogin()
    user = login.user or ServiceName(service).value
    return await nats.connect(
        servers=[part.strip() for part in url.split(",") if part.strip()],
        name=f"ollamon-{ServiceName(service).value}",
        inbox_prefix=inbox_prefix(user),
        max_reconnect_attempts=-1,
        reconnect_time_wait=RECONNECT_WAIT_SECONDS,
        connect_timeout=connect_timeout,
        disconnected_cb=events.on_disconnect,
        reconnected_cb=events.on_reconnect,
        error_cb=events.on_error,
        **(await login.options()),
        **options,
    )
