"""A service as a process: settings from the environment, logging, one stop path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from ollamon_core.events import ServiceName
from ollamon_core.redaction import install_log_redaction
from ollamon_core.settings import ServiceSettings

log = logging.getLogger(__name__)

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
Lifespan = Callable[[SettingsT], AbstractAsyncContextManager[object]]

SHUTDOWN_GRACE_SECONDS = 8.0


def configure_logging(level: str, service: str) -> None:
    """Log lines to stderr, prefixed with the service name, URLs redacted
    (`ollamon_core.redaction`: no password or token of a configured URL is ever logged)."""
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_log_redaction()


async def serve_until(
    lifespan: Lifespan[SettingsT],
    settings: SettingsT,
    stop: asyncio.Event,
) -> None:
    """Enter `lifespan(settings)`, wait for `stop`, and leave it (the process's `main`)."""
    async with lifespan(settings):
        await stop.wait()


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


def default_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (CPython on Linux and macOS, where uvicorn[standard]
    brings it and the probe already runs on it), else asyncio's own: every service wakes for
    heartbeats, NATS messages and timers, and uvloop's loop costs less per wakeup."""
    try:
        import uvloop
    except ImportError:  # Windows, PyPy: asyncio's loop
        return None
    return uvloop.new_event_loop


def run_service(
    service: ServiceName,
    settings_type: Callable[[], SettingsT],
    lifespan: Lifespan[SettingsT],
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> None:
    """Run one service as a process until SIGTERM or SIGINT (the `python -m` entry point).

    Reads the settings from the environment, configures logging, enters
    `lifespan(settings)` and waits; a signal sets the stop event and the lifespan is left
    (`run_until_stopped` bounds a start stuck waiting for NATS). A service stopped by an
    error (a failed start, a crashed background task) exits with status 1.
    """
    settings = settings_type()
    configure_logging(settings.log_level, service.value)
    run_until_signalled(
        lambda stop: serve_until(lifespan, settings, stop), service.value, loop_factory
    )


def run_until_signalled(
    main: Callable[[asyncio.Event], Awaitable[None]],
    who: str,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> None:
    """Run `main(stop)` on a new event loop until SIGTERM or SIGINT sets `stop` (a process's
    whole life): exit with status 1, the error logged as `who`'s, when it raised."""

    async def signalled() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_until_stopped(main, stop)

    try:
        with asyncio.Runner(loop_factory=loop_factory or default_loop_factory()) as runner:
            runner.run(signalled())
    except KeyboardInterrupt:
        pass
    except Exception as error:
        log.critical("%s stopped by an error", who, exc_info=error)
        raise SystemExit(1) from error
