"""Heartbeats: every service says it is alive, in which state, with its bus counters."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from datetime import datetime

from ollamon_core import __version__
from ollamon_core.bus import Bus
from ollamon_core.events import Heartbeat, ServiceName, utc_now

log = logging.getLogger(__name__)

StateProvider = Callable[[], str]


async def heartbeat_loop(
    bus: Bus,
    service: ServiceName,
    host_label: str,
    interval_seconds: float,
    state: StateProvider = lambda: "running",
) -> None:
    """Publish a heartbeat with the bus counters every `interval_seconds`, until cancelled."""
    started_at: datetime = utc_now()
    while True:
        heartbeat = Heartbeat(
            host=host_label,
            service=service,
            version=__version__,
            state=state(),
            pid=os.getpid(),
            started_at=started_at,
            counters=bus.heartbeat_counters(),
        )
        try:
            await bus.publish(heartbeat)
        except Exception as error:  # a heartbeat must never stop the service
            log.debug("heartbeat not sent: %r", error)
        await asyncio.sleep(interval_seconds)
