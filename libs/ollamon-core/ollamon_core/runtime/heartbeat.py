"""Heartbeats: every service says it is alive, in which state, with its bus counters."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ollamon_core import __version__
from ollamon_core.bus import Bus
from ollamon_core.events import Heartbeat, ServiceName, utc_now
from ollamon_core.runtime.health import write_health_file

log = logging.getLogger(__name__)

StateProvider = Callable[[], str]


async def heartbeat_loop(
    bus: Bus,
    service: ServiceName,
    host_label: str,
    interval_seconds: float,
    state: StateProvider = lambda: "running",
    health_file: Path | None = None,
) -> None:
    """Publish a heartbeat with the bus counters every `interval_seconds`, until cancelled;
    after each one sent while connected, rewrite `health_file` (container healthchecks)."""
    started_at: datetime = utc_now()
    while True:
        current_state = state()
        heartbeat = Heartbeat(
            host=host_label,
            service=service,
            version=__version__,
            state=current_state,
            pid=os.getpid(),
            started_at=started_at,
            counters=bus.heartbeat_counters(),
        )
        try:
            await bus.publish(heartbeat)
        except Exception as error:  # a heartbeat must never stop the service
            log.debug("heartbeat not sent: %r", error)
        else:
            if health_file is not None and bus.nc.is_connected:
                try:
                    await asyncio.to_thread(
                        write_health_file, health_file, service.value, current_state
                    )
                except OSError as error:  # unhealthy to the container engine, still running
                    log.warning("health file %s not written: %r", health_file, error)
        await asyncio.sleep(interval_seconds)
