"""How every service process runs: logging, signal handling, heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime

from ollamon_core import __version__
from ollamon_core.bus import Bus
from ollamon_core.events import Heartbeat, ServiceName, utc_now

log = logging.getLogger(__name__)

StateProvider = Callable[[], str]


def configure_logging(level: str, service: str) -> None:
    """Log lines to stderr, prefixed with the service name."""
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


SHUTDOWN_GRACE_SECONDS = 8.0


async def run_until_stopped(
    main: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    grace_seconds: float = SHUTDOWN_GRACE_SECONDS,
) -> None:
    """Run `main(stop)`; once `stop` is set, give it `grace_seconds` to finish, then cancel it.

    A service still waiting for NATS at start never looks at `stop`, so without the grace
    limit SIGTERM would leave it running.
    """
    main_task = asyncio.ensure_future(main(stop))
    stop_task = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({main_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        if not main_task.done():
            done, _ = await asyncio.wait({main_task}, timeout=grace_seconds)
            if not done:
                log.warning("did not stop within %.0f s; cancelling", grace_seconds)
                main_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await main_task
                return
        main_task.result()
    finally:
        stop_task.cancel()


def run_service(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)` until it returns; SIGTERM and SIGINT set `stop`."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_until_stopped(main, stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner())


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
            counters={name: float(value) for name, value in bus.counters.items()},
        )
        try:
            await bus.publish(heartbeat)
        except Exception as error:  # a heartbeat must never stop the service
            log.debug("heartbeat not sent: %r", error)
        await asyncio.sleep(interval_seconds)
