"""Where the command line finds NATS, how it logs in, and connecting within a few seconds.

Every command that needs NATS (`alerts`, `backup`) connects through `connect`: it answers
within `CONNECT_DEADLINE_SECONDS` or raises a `CommandError` whose one line names the URL
and the setting behind it, instead of nats-py retrying (and printing tracebacks) forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient

from ollamon_cli.credentials import CREDENTIALS_FILE, auth_folder, load_credentials
from ollamon_cli.exits import CommandError
from ollamon_cli.settings import StackSettings
from ollamon_core.bus import NatsLogin
from ollamon_core.permissions import inbox_prefix
from ollamon_core.redaction import redact_url

CONNECT_DEADLINE_SECONDS = 3.0
RECONNECT_WAIT_SECONDS = 0.5
AUTHORIZATION_VIOLATION = "authorization violation"


@dataclass(frozen=True)
class NatsTarget:
    """A NATS server to reach, as whom, and where each of the two came from."""

    url: str
    url_setting: str
    login: NatsLogin
    login_source: str

    @classmethod
    def given(cls, url: str, login: NatsLogin | None = None) -> NatsTarget:
        """A URL and login handed over by a caller (a test, a script), not read from settings."""
        return cls(url, "the URL given", login or NatsLogin(), "the login given")

    @property
    def user(self) -> str:
        """The NATS user the connection speaks as (its inbox prefix too)."""
        return self.login.user or "cli"

    @property
    def public_url(self) -> str:
        """The URL without credentials, for messages."""
        return ",".join(redact_url(part.strip()) for part in self.url.split(","))


def nats_target(settings: StackSettings, user: str) -> NatsTarget:
    """The server of `OLLAMON_NATS_URL`, else the embedded one of `ollamon up`; logged in
    with `OLLAMON_NATS_USER` / `OLLAMON_NATS_PASSWORD` when set, else as `user` with the
    password `ollamon up` keeps under the storage path, else without a login."""
    if settings.nats_url:
        url, url_setting = settings.nats_url, "OLLAMON_NATS_URL"
    else:
        url = f"nats://127.0.0.1:{settings.embedded_nats_port}"
        url_setting = (
            "the embedded server of `ollamon up`, OLLAMON_EMBEDDED_NATS_PORT; "
            "OLLAMON_NATS_URL names another"
        )
    if settings.nats_user:
        return NatsTarget(
            url, url_setting, NatsLogin.of(settings), "OLLAMON_NATS_USER, OLLAMON_NATS_PASSWORD"
        )
    credentials = load_credentials(settings.storage_path)
    if credentials is not None and user in credentials.passwords:
        source = str(auth_folder(settings.storage_path) / CREDENTIALS_FILE)
        login = credentials.login(user)
        login = NatsLogin(login.user, login.password, settings.nats_tls_ca)
        return NatsTarget(url, url_setting, login, source)
    return NatsTarget(
        url,
        url_setting,
        NatsLogin(tls_ca=settings.nats_tls_ca),
        "no login: OLLAMON_NATS_USER and OLLAMON_NATS_PASSWORD are unset and "
        f"{auth_folder(settings.storage_path) / CREDENTIALS_FILE} does not exist",
    )


def _is_refused_login(error: BaseException) -> bool:
    return AUTHORIZATION_VIOLATION in str(error).lower() or isinstance(
        error, nats.errors.AuthorizationError
    )


def _refusal(target: NatsTarget, error: BaseException) -> str:
    if _is_refused_login(error):
        return (
            f"NATS at {target.public_url} refused the login of user {target.user!r} "
            f"({target.login_source})"
        )
    return (
        f"no NATS server answers at {target.public_url} ({target.url_setting}): "
        f"{_reason(error)}; start it with `ollamon up` or set OLLAMON_NATS_URL"
    )


def _reason(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError | nats.errors.TimeoutError):
        return f"no answer within {CONNECT_DEADLINE_SECONDS:g} s"
    return f"{type(error).__name__}: {error}"


async def connect(
    target: NatsTarget,
    *,
    deadline: float = CONNECT_DEADLINE_SECONDS,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
) -> NatsClient:
    """Connect within `deadline` seconds, reconnecting quietly afterwards.

    A refused login, or every server refusing the connection (nothing listens), ends the
    wait at once; anything else (no answer) at the deadline.

    Raises:
        CommandError: NATS did not answer in time, or refused the login (one line).
    """
    servers = [part.strip() for part in target.url.split(",") if part.strip()]
    errors: list[BaseException] = []
    decided = asyncio.Event()

    async def remember(error: Exception) -> None:
        errors.append(error)
        refused = sum(isinstance(seen, ConnectionRefusedError) for seen in errors)
        if refused >= len(servers) or _is_refused_login(error):
            decided.set()

    async def nothing() -> None:
        return None

    options: dict[str, Any] = await target.login.options()
    connecting = asyncio.ensure_future(
        nats.connect(
            servers=servers,
            name="ollamon-cli",
            inbox_prefix=inbox_prefix(target.user),
            connect_timeout=min(2.0, deadline),
            reconnect_time_wait=RECONNECT_WAIT_SECONDS,
            max_reconnect_attempts=-1,
            error_cb=remember,
            disconnected_cb=on_disconnect or nothing,
            reconnected_cb=on_reconnect or nothing,
            **options,
        )
    )
    waiting = asyncio.ensure_future(decided.wait())
    try:
        await asyncio.wait({connecting, waiting}, timeout=deadline, return_when="FIRST_COMPLETED")
    finally:
        waiting.cancel()
    if connecting.done() and connecting.exception() is None:
        return connecting.result()
    connecting.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await connecting
    # A refused login is what to say, even when the server's close of that connection (a
    # reset) reached the callback after it.
    refused_login = [error for error in errors if _is_refused_login(error)]
    error = refused_login[0] if refused_login else errors[-1] if errors else TimeoutError()
    raise CommandError(_refusal(target, error))
