"""Publishing events: live on core NATS, persisted through JetStream, and the outbox that
persists them without making the caller wait, retrying across NATS outages (with a disk
spool, `spool.py`: spooling what NATS does not acknowledge and replaying it in order)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext, api

from ollamon_core import subjects
from ollamon_core.bus.spool import Spool, SpooledEvent
from ollamon_core.bus.wire import MSG_ID_HEADER, encode
from ollamon_core.events import Event

log = logging.getLogger(__name__)

OUTBOX_SIZE = 10_000
OUTBOX_WORKERS = 8
PERSIST_TIMEOUT_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 1.0
REPLAY_BATCH = 256
# A lingering outbox publishes at most this many events together.
LINGER_BATCH = 256


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

    async def publish_spooled(
        self, spooled: SpooledEvent, *, timeout: float = PERSIST_TIMEOUT_SECONDS
    ) -> api.PubAck:
        """Replay a spooled event through JetStream, as it was encoded, with its event id."""
        ack = await self.js.publish(
            spooled.subject,
            spooled.body,
            timeout=timeout,
            headers={MSG_ID_HEADER: spooled.event_id},
        )
        self.counters["published"] += 1
        return ack


class Outbox:
    """A bounded queue of events that worker tasks publish persistently, retrying until the
    stream acknowledges each (a resend is dropped by the stream's duplicate window).

    With a `spool`, an event goes to disk instead of being retried in memory: when NATS is
    not connected, when its publish is not acknowledged, and while the spool holds anything
    (so that order is kept); a replay task publishes the spool in order once NATS answers.

    With `linger_seconds` above 0, the worker that takes an event waits that long and takes
    what else was emitted meanwhile (up to `LINGER_BATCH`), then publishes them together:
    one write to NATS, their acknowledgements awaited together, each event spooled or
    retried on its own as above. It costs each event up to the linger in latency and saves
    a publisher wake-up, a socket write and an acknowledgement wake-up per event it joins
    (the probe's request events, docs/BENCHMARKS.md); 0, the default, publishes at once.
    There is no linger while the spool holds events or NATS is not connected (an event goes
    to disk at once, as without it); a stop spools what a worker lingers with.
    """

    def __init__(
        self,
        publish_persistent: Callable[[Event], Awaitable[object]],
        counters: Counter[str],
        *,
        size: int = OUTBOX_SIZE,
        spool: Spool | None = None,
        publish_spooled: Callable[[SpooledEvent], Awaitable[object]] | None = None,
        connected: Callable[[], bool] = lambda: True,
        linger_seconds: float = 0.0,
    ) -> None:
        self._publish_persistent = publish_persistent
        self.linger_seconds = linger_seconds
        self._taking = asyncio.Lock()  # while lingering, one worker takes from the queue
        self.counters = counters
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=size)
        self._workers: list[asyncio.Task[None]] = []
        self.spool = spool
        self._publish_spooled = publish_spooled
        self._connected = connected
        self._replay_task: asyncio.Task[None] | None = None
        self._interrupted: list[tuple[int, Event]] = []  # (order taken, event)
        self._taken = 0

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
        """Wait until every queued (and spooled) event is acknowledged; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._queue.join()
                while self.spool is not None and self.spool.events and self._connected():
                    await asyncio.sleep(0.02)
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
            if self.spool is not None and self._publish_spooled is not None:
                self._replay_task = asyncio.create_task(self._replay(), name="outbox-replay")

    async def stop(self) -> None:
        """Stop the workers; what is still queued or in a worker's hands is spooled, or
        without a spool counted as `publish_unsent`."""
        if self._replay_task is not None:
            self._replay_task.cancel()
            await asyncio.gather(self._replay_task, return_exceptions=True)
            self._replay_task = None
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self.spool is not None:
            left = [event for _, event in sorted(self._interrupted, key=lambda pair: pair[0])]
            self._interrupted = []
            while not self._queue.empty():
                left.append(self._queue.get_nowait())
                self._queue.task_done()
            if left:
                await self.spool.append(left)
                log.warning("%d events spooled at shutdown", len(left))
            await self.spool.close()
            return
        unsent = self._queue.qsize() + len(self._interrupted)  # with those being retried
        self._interrupted = []
        if unsent:
            self.counters["publish_unsent"] += unsent
            log.error("%d events could not be sent before shutdown", unsent)

    async def _drain(self) -> None:
        while True:
            batch: list[tuple[int, Event]] = []  # (order taken, event)
            try:
                if self.linger_seconds > 0:
                    async with self._taking:
                        await self._take(batch)
                        await self._linger(batch)
                else:
                    await self._take(batch)
                if len(batch) == 1:
                    await self._publish(batch[0][1])
                else:  # issued in order in one loop pass: one write, acks awaited together
                    await asyncio.gather(*(self._publish(event) for _, event in batch))
            except asyncio.CancelledError:
                # stopped with events in hand: `stop` spools them (again, if an append had
                # already run or one was acknowledged: a replayed duplicate is dropped by
                # its event id)
                self._interrupted.extend(batch)
                raise
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _take(self, batch: list[tuple[int, Event]]) -> None:
        event = await self._queue.get()
        self._taken += 1
        batch.append((self._taken, event))

    async def _linger(self, batch: list[tuple[int, Event]]) -> None:
        # Only towards a stream that answers: otherwise the event goes to the spool at once.
        spooling = self.spool is not None and (self.spool.events or not self._connected())
        if not spooling and self._queue.qsize() < LINGER_BATCH - len(batch):
            await asyncio.sleep(self.linger_seconds)
        while len(batch) < LINGER_BATCH and not self._queue.empty():
            event = self._queue.get_nowait()
            self._taken += 1
            batch.append((self._taken, event))

    async def _publish(self, event: Event) -> None:
        if self.spool is None:
            await self._publish_until_acknowledged(event)
        else:
            await self._publish_or_spool(event, self.spool)

    async def _publish_or_spool(self, event: Event, spool: Spool) -> None:
        if not spool.events and self._connected():
            try:
                await self._publish_persistent(event)
                return
            except (nats.errors.Error, TimeoutError) as error:
                self.counters["publish_retries"] += 1
                log.debug("spooling %s: %r", event.event_id, error)
        try:
            await spool.append([event])
        except (OSError, sqlite3.Error) as error:  # disk full, file removed: keep it in memory
            self.counters["spool_errors"] += 1
            log.error("could not spool %s (%r); retrying it in memory", event.event_id, error)
            await self._publish_until_acknowledged(event)

    async def _replay(self) -> None:
        """Publish the spool in order whenever NATS answers; forget what was acknowledged."""
        assert self.spool is not None and self._publish_spooled is not None
        backoff_seconds = 0.05
        while True:
            await self.spool.holding.wait()
            if not self._connected():
                await asyncio.sleep(0.1)
                continue
            try:
                batch = await self.spool.oldest(REPLAY_BATCH)
            except (OSError, sqlite3.Error) as error:
                self.counters["spool_errors"] += 1
                log.error("could not read the spool (%r); trying again in 1 s", error)
                await asyncio.sleep(1.0)
                continue
            results = await asyncio.gather(
                *(self._publish_spooled(spooled) for spooled in batch), return_exceptions=True
            )
            acknowledged = [
                spooled.seq
                for spooled, result in zip(batch, results, strict=True)
                if not isinstance(result, BaseException)
            ]
            try:
                await self.spool.remove(acknowledged)
            except (OSError, sqlite3.Error) as error:  # replayed again later: deduplicated
                self.counters["spool_errors"] += 1
                log.error("could not forget replayed events (%r)", error)
                await asyncio.sleep(1.0)
            failed = len(batch) - len(acknowledged)
            for result in results:
                if isinstance(result, Exception) and not isinstance(
                    result, (nats.errors.Error, TimeoutError)
                ):
                    log.error("replay of the spool failed: %r", result)
                    break
            if failed:
                self.counters["publish_retries"] += failed
                await asyncio.sleep(backoff_seconds)
                backoff_seconds = min(backoff_seconds * 2, MAX_BACKOFF_SECONDS)
            else:
                backoff_seconds = 0.05

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
