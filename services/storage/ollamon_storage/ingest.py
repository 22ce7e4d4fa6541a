"""Batching the durable consumer's messages into SQLite, acking each only after the commit.

The consumer callback only queues (event, message). One flusher task commits a batch when
it holds `batch_size` events or its oldest has waited `batch_interval_seconds` (the linger:
at a few events per second, one transaction per linger instead of one per event), then acks
every message of it: the consumer's ack policy is `AckPolicy.EXPLICIT`, so each ack settles
its own message only, and an ack is a publish that does not wait for a reply (a batch's
acks go out in one write, `ack_each`). The linger is
for low rates: a batch of `BUSY_BATCH_EVENTS` or more, and any batch begun within a linger
of such a batch, commits once its oldest has waited `BUSY_INTERVAL_SECONDS` (if the linger
is longer), so the end of a burst is not held back.

A batch whose commit fails is not acked: the server delivers its messages again once the
consumer's ack wait has passed, and they are stored then, once (`INSERT OR IGNORE`).
docs/decisions/0002-storage-acks.md records why acks are per message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

import nats.errors
from nats.aio.msg import Msg

from ollamon_core.bus.consumers import ack_each
from ollamon_core.events import Event
from ollamon_storage import rows, writer
from ollamon_storage.database import Database

log = logging.getLogger(__name__)

Entry = tuple[Event, Msg]

# A batch this large is not a low rate: it waits no longer than this for more.
BUSY_BATCH_EVENTS = 16
BUSY_INTERVAL_SECONDS = 0.05


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
        self._pending: list[Entry] = []
        self._oldest_at = 0.0
        self._arrived = asyncio.Event()
        self._grew = asyncio.Event()  # the batch reached BUSY_BATCH_EVENTS or batch_size
        self._busy_until = 0.0  # a linger after the last batch of BUSY_BATCH_EVENTS or more
        self._stopping = False

    async def handle(self, event: Event, msg: Msg) -> None:
        """Bus handler: queue one validated event until its batch commits."""
        if not self._pending:
            self._oldest_at = time.monotonic()
            self._arrived.set()
        self._pending.append((event, msg))
        if len(self._pending) in (BUSY_BATCH_EVENTS, self.batch_size):
            self._grew.set()

    def _commit_at(self) -> float:
        wait = self.batch_interval_seconds
        if len(self._pending) >= BUSY_BATCH_EVENTS or self._oldest_at < self._busy_until:
            wait = min(wait, BUSY_INTERVAL_SECONDS)
        return self._oldest_at + wait

    async def run(self) -> None:
        """Commit batches until `stop()`; a commit in progress always finishes."""
        while not self._stopping:
            await self._arrived.wait()
            if self._stopping:
                return
            while not self._stopping and len(self._pending) < self.batch_size:
                wait_seconds = self._commit_at() - time.monotonic()
                if wait_seconds <= 0:
                    break
                self._grew.clear()
                try:
                    await asyncio.wait_for(self._grew.wait(), wait_seconds)
                except TimeoutError:
                    break
            await self.flush_once()

    def _take_batch(self) -> list[Entry]:
        batch = self._pending[: self.batch_size]
        self._pending = self._pending[self.batch_size :]
        if len(batch) >= BUSY_BATCH_EVENTS:
            self._busy_until = time.monotonic() + self.batch_interval_seconds
        if self._pending:
            self._oldest_at = time.monotonic()
        else:
            self._arrived.clear()
        return batch

    async def flush_once(self) -> int:
        """Commit and ack up to one batch of what is queued; return how many it stored."""
        batch = self._take_batch()
        if not batch:
            return 0
        grouped = rows.group_rows(
            (event, rows.stored_json(event, msg.data)) for event, msg in batch
        )
        try:
            new_requests = await writer.write_batch(self.database, grouped)
        except Exception:
            self.counters["batch_failures"] += 1
            log.exception("batch of %d events not stored; it will be delivered again", len(batch))
            return 0
        self.counters["ingested"] += len(batch)
        self.counters["ingested_requests_new"] += new_requests
        self.counters["batches"] += 1
        self.counters["last_batch_size"] = len(batch)
        await self._ack(batch)
        return len(batch)

    async def _ack(self, batch: list[Entry]) -> None:
        try:
            await ack_each([msg for _, msg in batch])  # one write for the batch's acks
        except nats.errors.Error as error:  # stored already: a redelivery is ignored
            self.counters["ack_failures"] += len(batch)
            log.debug("acks failed: %r", error)
        else:
            self.counters["acks_sent"] += len(batch)

    def stop(self) -> None:
        """Make `run` return after the batch in progress (call `drain` for the rest)."""
        self._stopping = True
        self._arrived.set()
        self._grew.set()

    async def drain(self) -> None:
        """Commit everything still queued (at shutdown, after the consumer stopped)."""
        while self._pending:
            await self.flush_once()

    @property
    def pending(self) -> int:
        """Events received and not yet committed."""
        return len(self._pending)
