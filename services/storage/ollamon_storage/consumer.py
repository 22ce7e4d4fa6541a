"""Storage's durable consumer, created afresh from the server's ack floor at every start.

Everything up to the ack floor is stored (each message is acked only after its batch
commits, `ingest.py`). Deleting the durable and creating it again right after the floor
delivers at once what a killed process left unacked, instead of after the ack wait, and
replaces a durable left by a version that acked cumulatively (AckPolicy.ALL; an ack policy
cannot be changed in place). The stream keeps its messages either way (limits retention);
what is delivered again is stored once, thanks to `INSERT OR IGNORE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext

from ollamon_core import subjects
from ollamon_core.bus import AckMode, Bus
from ollamon_core.bus.consumers import ACK_WAIT_SECONDS
from ollamon_storage.decoding import Decoder
from ollamon_storage.ingest import Ingestor

log = logging.getLogger(__name__)

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
        ack_wait_seconds: float = ACK_WAIT_SECONDS,
    ) -> None:
        self.bus = bus
        self.ingestor = ingestor
        self.durable = durable
        self.stream = stream
        self.ack_wait_seconds = ack_wait_seconds
        self._subscription: JetStreamContext.PushSubscription | None = None
        self._decoder = Decoder()

    async def start(self) -> None:
        """Create the consumer from the ack floor and start consuming (retrying a while)."""
        for attempt in range(CREATE_ATTEMPTS):
            try:
                await self._create_from_ack_floor()
                return
            except (nats.errors.Error, TimeoutError) as error:
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                log.warning("durable consumer not created yet (%r); retrying", error)
                await asyncio.sleep(CREATE_RETRY_SECONDS)

    async def stop(self) -> None:
        """Stop deliveries; the durable stays, and what is not acked is delivered again."""
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await subscription.unsubscribe()

    async def ack_floor(self) -> int:
        """The stream sequence up to which the durable has acked everything (0 if none)."""
        try:
            info = await self.bus.js.consumer_info(self.stream, self.durable)
        except nats.js.errors.NotFoundError:
            return 0
        return (info.ack_floor.stream_seq or 0) if info.ack_floor else 0

    async def _create_from_ack_floor(self) -> None:
        floor = await self.ack_floor()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self.bus.js.delete_consumer(self.stream, self.durable)
        self._subscription = await self.bus.consume_durable(
            self.durable,
            self.ingestor.handle,
            ack=AckMode.EXPLICIT,
            stream=self.stream,
            ack_wait_seconds=self.ack_wait_seconds,
            start_sequence=floor + 1,
            decode=self._decoder.decode,  # msgspec first, pydantic when it refuses
        )
        log.info("consuming %s from stream sequence %d", self.durable, floor + 1)
