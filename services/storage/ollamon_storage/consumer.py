"""Storage's durable consumer: created fresh from the server's ack floor, recreated on resync.

Cumulative acks (`acking.py`) are only safe on a consumer whose every delivery this process
has seen. So at start, and whenever the ingestor asks for a resync (a failed commit or a
lost delivery), the durable is deleted and created again, starting right after its ack
floor: everything acked is stored, everything after it is delivered again (and stored once,
thanks to `INSERT OR IGNORE`). This also replaces a durable left by an older version that
acked message by message (AckPolicy.EXPLICIT); the stream keeps its messages either way
(limits retention).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext

from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_storage.ingest import Ingestor

log = logging.getLogger(__name__)

RESYNC_DELAY_SECONDS = 1.0
CREATE_ATTEMPTS = 20
CREATE_RETRY_SECONDS = 0.5


class StorageConsumer:
    """Owns the durable consumer that feeds an `Ingestor`."""

    def __init__(
        self,
        bus: Bus,
        ingestor: Ingestor,
        *,
        durable: str = subjects.STORAGE_DURABLE,
        stream: str = subjects.STREAM_EVENTS,
        resync_delay_seconds: float = RESYNC_DELAY_SECONDS,
    ) -> None:
        self.bus = bus
        self.ingestor = ingestor
        self.durable = durable
        self.stream = stream
        self.resync_delay_seconds = resync_delay_seconds
        self._subscription: JetStreamContext.PushSubscription | None = None

    async def start(self) -> None:
        """Create the consumer from the ack floor and start consuming (retrying a while)."""
        for attempt in range(CREATE_ATTEMPTS):
            try:
                await self._recreate()
                return
            except (nats.errors.Error, TimeoutError) as error:
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                log.warning("durable consumer not created yet (%r); retrying", error)
                await asyncio.sleep(CREATE_RETRY_SECONDS)

    async def run_resyncs(self) -> None:
        """Recreate the consumer each time the ingestor asks; runs until cancelled."""
        while True:
            await self.ingestor.resync_requested.wait()
            await self._unsubscribe()
            self.bus.counters["consumer_resyncs"] += 1
            await asyncio.sleep(self.resync_delay_seconds)
            try:
                await self._recreate()
            except (nats.errors.Error, TimeoutError) as error:
                log.warning("resync failed (%r); trying again", error)

    async def stop(self) -> None:
        """Stop deliveries; the durable stays, and what is not acked is delivered again."""
        await self._unsubscribe()

    async def ack_floor(self) -> int:
        """The stream sequence up to which the durable has acked everything (0 if none)."""
        try:
            info = await self.bus.js.consumer_info(self.stream, self.durable)
        except nats.js.errors.NotFoundError:
            return 0
        return (info.ack_floor.stream_seq or 0) if info.ack_floor else 0

    async def _recreate(self) -> None:
        floor = await self.ack_floor()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self.bus.js.delete_consumer(self.stream, self.durable)
        self.ingestor.restart()
        self._subscription = await self.bus.consume_durable(
            self.durable,
            self.ingestor.handle,
            stream=self.stream,
            on_dead_lettered=self.ingestor.handle_dead_lettered,
            start_sequence=floor + 1,
        )
        log.info("consuming %s from stream sequence %d", self.durable, floor + 1)

    async def _unsubscribe(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await subscription.unsubscribe()
