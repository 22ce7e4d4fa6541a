"""Batching the durable consumer's messages into SQLite, acking only after the commit.

The consumer callback only queues (event, message), in delivery order; dead-lettered
messages are queued too (with no event) so they are settled in that order. One flusher
task commits a batch when it holds `batch_size` events or its oldest has waited
`batch_interval_seconds`, then sends one cumulative ack for it (AckPolicy.ALL; why that
never acks an unstored message is argued in `acking.py`).

A failed commit, or a delivery that never arrived, stops all acking: the ingestor drops
what it has not committed and asks for a resync (`resync_requested`), after which the
consumer is recreated from the server's ack floor and `restart()` starts a new round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter

from nats.aio.msg import Msg

from ollamon_core.events import Event
from ollamon_storage import rows, writer
from ollamon_storage.acking import AckCursor
from ollamon_storage.database import Database

log = logging.getLogger(__name__)

Entry = tuple[Event | None, Msg]  # None: dead-lettered already, only to be acked in order


class Ingestor:
    """Receives events from the bus and commits them in batches."""

    def __init__(
        self,
        database: Database,
        counters: Counter[str],
        *,
        batch_size: int,
        batch_interval_seconds: float,
    ) -> None:
        self.database = database
        self.counters = counters
        self.batch_size = batch_size
        self.batch_interval_seconds = batch_interval_seconds
        self.resync_requested = asyncio.Event()
        self._pending: list[Entry] = []
        self._cursor = AckCursor()
        self._round = 0
        self._oldest_at = 0.0
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._stopping = False

    async def handle(self, event: Event, msg: Msg) -> None:
        """Bus handler: queue one validated event until its batch commits."""
        self._queue((event, msg))

    async def handle_dead_lettered(self, msg: Msg) -> None:
        """Bus handler for a dead-lettered message: ack it in order with the batch around it."""
        self._queue((None, msg))

    def _queue(self, entry: Entry) -> None:
        if self.resync_requested.is_set():
            return  # nothing more is acked this round; the new consumer delivers it again
        if not self._pending:
            self._oldest_at = time.monotonic()
            self._arrived.set()
        self._pending.append(entry)
        if len(self._pending) >= self.batch_size:
            self._full.set()

    async def run(self) -> None:
        """Commit batches until `stop()`; a commit in progress always finishes."""
        while not self._stopping:
            await self._arrived.wait()
            if self._stopping:
                return
            wait_seconds = self._oldest_at + self.batch_interval_seconds - time.monotonic()
            if wait_seconds > 0 and len(self._pending) < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), wait_seconds)
            await self.flush_once()

    def _take_batch(self) -> list[Entry]:
        batch = self._pending[: self.batch_size]
        self._pending = self._pending[self.batch_size :]
        self._full.clear()
        if self._pending:
            self._oldest_at = time.monotonic()
            if len(self._pending) >= self.batch_size:
                self._full.set()
        else:
            self._arrived.clear()
        return batch

    async def flush_once(self) -> int:
        """Commit and ack up to one batch of what is queued; return how many it stored."""
        batch = self._take_batch()
        if not batch:
            return 0
        round_at_start = self._round
        grouped = rows.group_rows(
            (event, msg.data.decode()) for event, msg in batch if event is not None
        )
        try:
            new_requests = await writer.write_batch(self.database, grouped)
        except Exception:
            self.counters["batch_failures"] += 1
            log.exception("batch of %d events not stored; it will be delivered again", len(batch))
            self._request_resync()
            return 0
        stored = sum(1 for event, _ in batch if event is not None)
        self.counters["ingested"] += stored
        self.counters["ingested_requests_new"] += new_requests
        self.counters["batches"] += 1
        self.counters["last_batch_size"] = len(batch)
        if round_at_start == self._round:  # after a resync, old deliveries are never acked
            await self._ack(batch)
        return stored

    async def _ack(self, batch: list[Entry]) -> None:
        step = self._cursor.advance([msg for _, msg in batch])
        if step.ack is not None:
            try:
                await step.ack.ack()
                self.counters["acks_sent"] += 1
            except Exception as error:  # stored already: a later ack or a redelivery covers it
                self.counters["ack_failures"] += 1
                log.debug("ack failed: %r", error)
        if step.gap:
            self.counters["delivery_gaps"] += 1
            log.warning("a delivery never arrived; acks stop until the consumer is recreated")
            self._request_resync()

    def _request_resync(self) -> None:
        self.resync_requested.set()
        self._pending.clear()
        self._arrived.clear()
        self._full.clear()

    def restart(self) -> None:
        """Start a new round for a freshly created consumer (its deliveries count from 1)."""
        self._round += 1
        self._cursor = AckCursor()
        self._pending.clear()
        self._arrived.clear()
        self._full.clear()
        self.resync_requested.clear()

    def stop(self) -> None:
        """Make `run` return after the batch in progress (call `drain` for the rest)."""
        self._stopping = True
        self._arrived.set()
        self._full.set()

    async def drain(self) -> None:
        """Commit everything still queued (at shutdown, after the consumer stopped)."""
        while self._pending:
            await self.flush_once()

    @property
    def pending(self) -> int:
        """Events received and not yet committed."""
        return len(self._pending)
