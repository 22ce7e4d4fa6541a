"""The running service: a connected bus, named background tasks, reverse-order teardown."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from types import MappingProxyType
from typing import Any, TypeVar

from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError

from ollamon_core.bus import Bus, NatsLogin, SpoolConfig
from ollamon_core.events import ServiceName
from ollamon_core.runtime.heartbeat import StateProvider, heartbeat_loop
from ollamon_core.settings import ServiceSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
Closer = Callable[[], object]  # a plain function, or one returning an awaitable

TASK_STOP_SECONDS = 5.0


class BackgroundTaskError(Exception):
    """A background task raised, or returned while its service was still running."""

    def __init__(self, name: str, what: str) -> None:
        super().__init__(f"background task {name!r} {what}")
        self.task_name = name


class ServiceRuntime:
    """What a running service holds: its bus, its named background tasks, what it opened.

    Whatever is registered (`enter`, `on_close`, `unsubscribe_at_close`, `start_task`) is
    undone when the lifespan ends, latest first; the bus closes after all of it.

    A background task runs for the life of its service. If one raises, or returns before
    the service stops, that is logged with the task's name and the service stops: the
    other tasks are cancelled, everything is closed in reverse order, and the lifespan
    raises an `ExceptionGroup` holding a `BackgroundTaskError` (the task's own error as
    its cause). `run_service` then exits with status 1, so the supervisor (`ollamon up`,
    Docker, systemd) starts the service again. Nothing restarts in-process: a task that
    crashed leaves the service's state unknown.
    """

    def __init__(
        self,
        service: ServiceName,
        settings: ServiceSettings,
        bus: Bus,
        stack: contextlib.AsyncExitStack,
        group: asyncio.TaskGroup,
    ) -> None:
        self.service = service
        self.settings = settings
        self.bus = bus
        self.closing = False
        self._stack = stack
        self._group = group
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def tasks(self) -> Mapping[str, asyncio.Task[None]]:
        """The background tasks by name, in the order they started."""
        return MappingProxyType(self._tasks)

    async def enter(self, resource: AbstractAsyncContextManager[T]) -> T:
        """Enter `resource` now; it is exited at close, before anything registered earlier."""
        return await self._stack.enter_async_context(resource)

    def on_close(self, callback: Closer) -> None:
        """Call `callback` (plain or async) at close, before anything registered earlier."""
        self._stack.push_async_callback(_call, callback)

    def unsubscribe_at_close(self, subscription: Subscription) -> Subscription:
        """End `subscription` at close, before anything registered earlier is closed."""

        async def unsubscribe() -> None:
            with contextlib.suppress(NatsError):
                await subscription.unsubscribe()

        self._stack.push_async_callback(unsubscribe)
        return subscription

    def start_task(
        self,
        coroutine: Coroutine[Any, Any, None],
        *,
        name: str,
        stop: Closer | None = None,
    ) -> asyncio.Task[None]:
        """Run `coroutine` as the background task `name` until the service stops.

        At close the task is cancelled; given `stop`, `stop()` is called instead and the task
        has `TASK_STOP_SECONDS` to return by itself before it is cancelled.
        """
        if name in self._tasks:
            coroutine.close()
            raise ValueError(f"a background task named {name!r} already runs")
        task = self._group.create_task(self._supervised(coroutine, name), name=name)
        self._tasks[name] = task
        self._stack.push_async_callback(_stop_task, task, coroutine, stop)
        return task

    def start_heartbeat(self, state: StateProvider = lambda: "running") -> asyncio.Task[None]:
        """Start the `heartbeat` task; `state()` is read at every beat. Start it last, once
        the service is ready: its first heartbeat says so."""
        return self.start_task(
            heartbeat_loop(
                self.bus,
                self.service,
                self.settings.host_label,
                self.settings.heartbeat_interval_seconds,
                state,
                self.settings.health_file,
            ),
            name="heartbeat",
        )

    async def _supervised(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await coroutine
        except Exception as error:
            log.error("background task %r crashed (%r); stopping the service", name, error)
            raise BackgroundTaskError(name, "crashed") from error
        this = asyncio.current_task()
        if not self.closing and not (this and this.cancelling()):  # nor a swallowed cancel
            log.error("background task %r ended by itself; stopping the service", name)
            raise BackgroundTaskError(name, "ended while the service was running")


async def _call(callback: Closer) -> None:
    result = callback()
    if inspect.isawaitable(result):
        await result


async def _stop_task(
    task: asyncio.Task[None], coroutine: Coroutine[Any, Any, None], stop: Closer | None
) -> None:
    if stop is not None and not task.done():
        await _call(stop)
        await asyncio.wait({task}, timeout=TASK_STOP_SECONDS)
        if not task.done():
            log.warning("task %r did not stop in time; cancelled", task.get_name())
    task.cancel()
    await asyncio.wait({task})  # never raises: the task's own error is the task group's
    coroutine.close()  # a task cancelled before it ran never started its coroutine


@contextlib.asynccontextmanager
async def service_runtime(
    service: ServiceName,
    settings: ServiceSettings,
    *,
    retention_seconds: float | None = None,
    spool: SpoolConfig | None = None,
    outbox_linger_seconds: float = 0.0,
) -> AsyncIterator[ServiceRuntime]:
    """Connect `service` to NATS and create the streams; at exit undo it all in reverse.

    Args:
        service: who connects (names the connection, the heartbeat and dead letters).
        settings: the shared fields: NATS URL, host label, heartbeat interval.
        retention_seconds: given by the owner of retention (storage) only: the streams
            keep events this long, and an existing stream is updated to it.
        spool: given by the services that emit events NATS must not lose (probe,
            collector): the disk spool where unacknowledged events wait (`bus/spool.py`).
        outbox_linger_seconds: how long the outbox gathers emitted events into one batch
            of publishes (`Bus.connect`; the probe's request events), 0 for at once.

    Raises:
        ExceptionGroup: what stopped the service: a step of its start that failed, or a
            `BackgroundTaskError` (see `ServiceRuntime`).
    """
    async with asyncio.TaskGroup() as group, contextlib.AsyncExitStack() as stack:
        bus = await Bus.connect(
            settings.nats_url,
            service,
            login=NatsLogin.of(settings),
            spool=spool,
            outbox_linger_seconds=outbox_linger_seconds,
        )
        stack.push_async_callback(bus.close)
        if retention_seconds is None:
            await bus.ensure_streams()
        else:
            await bus.ensure_streams(max_age_seconds=retention_seconds, update_existing=True)
        runtime = ServiceRuntime(service, settings, bus, stack, group)
        try:
            yield runtime
        finally:
            runtime.closing = True
