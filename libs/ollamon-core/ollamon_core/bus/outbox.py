"""Publishing events: live on core NATS, persisted through JetStream, and the outbox that
persists them without making the caller wait, retrying across NATS outages."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext, api

from ollamon_core import subjects
from ollamon_core.bus.wire import MSG_ID_HEADER, encode
from ollamon_core.events import Event

log = logging.getLogger(__name__)

OUTBOX_SIZE = 10_000
OUTBOX_WORKERS = 8
PERSIST_TIMEOUT_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 1.0


class Publisher:
    """Publishes events on their subjects, with the event id as JetStream's message id."""

    def __init__(self, nc: NatsClient, js: JetStreamContext, counters: Counter[str]) -> None:
        self.nc = nc
        self.js = js
        self.counters = counters

    async def publish(self, event: Event) -> None:
        """Publish on core NATS (live fan-out; stored if the subject is in the stream)."""
        await self.nc.publish(
            subjects.subject_for(event), encode(event), headers={MSG_ID_HEADER: event.event_id}
        )
        self.counters["published"] += 1

    async def publish_persistent(
        self, event: Event, *, timeout: float = PERSIST_TIMEOUT_SECONDS
    ) -> api.PubAck:
        """Publish through JetStream and wait for the stream's acknowledgement."""
        ack = await self.js.publish(
            subjects.subject_for(event),
            encode(event),
            timeout=timeout,
            headers={MSG_ID_HEADER: event.event_id},
        )
        self.counters["published"] += 1
        return ack


class Outbox:
    """A bounded queue of events that worker tasks publish persistently, retrying until the
    stream acknowledges each (a resend is dropped by the stream's duplicate window)."""

    def __init__(
        self,
        publish_persistent: Callable[[Event], Awaitable[object]],
        counters: Counter[str],
        *,
        size: int = OUTBOX_SIZE,
    ) -> None:
        self._publish_persistent = publish_persistent
        self.counters = counters
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=size)
        self._workers: list[asyncio.Task[None]] = []

    def emit(self, event: Event) -> bool:
        """Queue an event without waiting; False (counted as `outbox_dropped`) when full."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.counters["outbox_dropped"] += 1
            log.error("outbox full, dropped %s %s", type(event).__name__, event.event_id)
            return False
        return True

    @property
    def pending(self) -> int:
        """Events queued and not yet acknowledged by JetStream."""
        return self._queue.qsize()

    @property
    def started(self) -> bool:
        """True while worker tasks run."""
        return bool(self._workers)

    async def flush(self, timeout: float) -> bool:
        """Wait until every queued event is acknowledged; False on timeout."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            return False
        return True

    def start(self, workers: int = OUTBOX_WORKERS) -> None:
        """Start the worker tasks (idempotent)."""
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._drain(), name=f"outbox-{index}")
                for index in range(workers)
            ]

    async def stop(self) -> None:
        """Stop the workers; what is still queued is counted as `publish_unsent`."""
        if self._queue.qsize():
            self.counters["publish_unsent"] += self._queue.qsize()
            log.error("%d events could not be sent before shutdown", self._queue.qsize())
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def _drain(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._publish_until_acknowledged(event)
            finally:
                self._queue.task_done()

    async def _publish_until_acknowledged(self, event: Event) -> None:
        backoff_seconds = 0.05
        while True:
            try:
                await self._publish_persistent(event)
                return
            except (nats.errors.Error, TimeoutError) as error:
                self.counters["publish_retries"] += 1
                log.debug("retrying publish of %s: %r", event.event_id, error)
                await asyncio.sleep(backoff_seconds)
                backoff_seconds = min(backoff_seconds * 2, MAX_BACKOFF_SECONDS)
