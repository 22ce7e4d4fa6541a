"""Opening one service's NATS connection: reconnect forever, count what happens to it."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.client import Client as NatsClient

from ollamon_core.events import ServiceName

log = logging.getLogger(__name__)

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
        """nats-py's `error_cb` (errors it also reports through the calls that failed)."""
        log.debug("NATS error: %s", error)


async def open_connection(
    url: str,
    service: ServiceName,
    events: ConnectionEvents,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    **options: Any,
) -> NatsClient:
    """Connect to `url` (comma-separated for a cluster), reconnecting forever afterwards."""
    return await nats.connect(
        servers=[part.strip() for part in url.split(",") if part.strip()],
        name=f"ollamon-{ServiceName(service).value}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=RECONNECT_WAIT_SECONDS,
        connect_timeout=connect_timeout,
        disconnected_cb=events.on_disconnect,
        reconnected_cb=events.on_reconnect,
        error_cb=events.on_error,
        **options,
    )
