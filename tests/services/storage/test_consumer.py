"""Storage acks a message only once its batch is committed: failed commits, lost deliveries
and durables left by a killed process never lose an event.

Each test arranges the failure for real (a SQLite trigger that aborts inserts, an ingestor
that loses one delivery, a durable left with messages unacked) and checks that every event
ends up stored exactly once; an ack sent for an unstored event would lose it and fail the
count.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import nats.js.errors
import pytest
from nats.aio.msg import Msg
from nats.js import api

from ollamon_core import subjects
from ollamon_core.bus import AckMode, Bus
from ollamon_core.events import Event, ServiceName
from ollamon_storage.consumer import StorageConsumer
from ollamon_storage.database import Database
from ollamon_storage.ingest import Ingestor
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.services.storage import factories
from tests.services.storage.conftest import make_settings, publish_all
from tests.support.waiting import wait_for_async

SHORT_ACK_WAIT_SECONDS = 1.0

BLOCK_SQL = """
CREATE TABLE IF NOT EXISTS test_block (on_ INTEGER);
INSERT INTO test_block VALUES (1);
CREATE TRIGGER IF NOT EXISTS test_block_requests BEFORE INSERT ON requests
WHEN NEW.model_name = 'blocked' AND EXISTS (SELECT 1 FROM test_block)
BEGIN SELECT RAISE(ABORT, 'inserts blocked by the test'); END;
"""


class LosingIngestor(Ingestor):
    """An ingestor whose `lose_at`-th delivery never arrives (as if lost in a reconnect)."""

    def __init__(self, *args: object, lose_at: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lose_at = lose_at
        self.seen = 0

    async def handle(self, event: Event, msg: Msg) -> None:
        self.seen += 1
        if self.seen == self.lose_at:
            return
        await super().handle(event, msg)


async def _stored_ids(database_path: Path) -> list[str]:
    def read() -> list[str]:
        conn = sqlite3.connect(database_path, timeout=10)
        try:
            return [row[0] for row in conn.execute("SELECT event_id FROM requests")]
        finally:
            conn.close()

    return await asyncio.to_thread(read)


async def _consumer_info(bus: Bus) -> api.ConsumerInfo:
    return await bus.js.consumer_info(subjects.STREAM_EVENTS, subjects.STORAGE_DURABLE)


def _floor(info: api.ConsumerInfo) -> int:
    return (info.ack_floor.stream_seq or 0) if info.ack_floor else 0


async def _wait_all_acked(bus: Bus, last_stream_seq: int, timeout: float = 20) -> None:
    async def acked() -> bool:
        try:
            info = await _consumer_info(bus)
        except nats.js.errors.NotFoundError:  # not created yet
            return False
        return _floor(info) >= last_stream_seq and info.num_ack_pending == 0

    await wait_for_async(acked, timeout=timeout, message=f"ack floor at {last_stream_seq}")


@pytest.fixture
def small_batch_settings(tmp_path: Path, clean_nats_url: str) -> StorageSettings:
    """Storage settings whose batches hold 10 events, so failures split batches."""
    return make_settings(tmp_path / "data", clean_nats_url, batch_size=10)


@pytest.fixture
async def storage_parts(
    small_batch_settings: StorageSettings, bus_factory: BusFactory
) -> AsyncIterator[tuple[Database, Bus]]:
    """An open database and storage's own bus (the pieces `main` wires together)."""
    database = await Database.open(small_batch_settings.database_path)
    bus = await bus_factory(ServiceName.STORAGE)
    try:
        yield database, bus
    finally:
        await database.close()


async def _run_consumer(
    ingestor: Ingestor, consumer: StorageConsumer, until: asyncio.Event
) -> None:
    flusher = asyncio.create_task(ingestor.run())
    await consumer.start()
    try:
        await until.wait()
    finally:
        await consumer.stop()
        ingestor.stop()
        await asyncio.gather(flusher, return_exceptions=True)


async def test_a_failed_commit_is_not_acked_and_is_stored_when_delivered_again(
    storage_parts: tuple[Database, Bus],
    bus_factory: BusFactory,
) -> None:
    database, bus = storage_parts
    await asyncio.to_thread(_execute_script, database.path, BLOCK_SQL)
    ingestor = Ingestor(database, bus.counters, batch_size=10, batch_interval_seconds=0.02)
    consumer = StorageConsumer(bus, ingestor, ack_wait_seconds=SHORT_ACK_WAIT_SECONDS)
    publisher = await bus_factory(ServiceName.PROBE)
    blocked = [factories.request("blocked") for _ in range(30)]
    fine = [factories.request("fine") for _ in range(30)]
    await publish_all(publisher, [*blocked, *fine])
    done = asyncio.Event()
    running = asyncio.create_task(_run_consumer(ingestor, consumer, done))
    try:

        async def fine_stored_blocked_failed_twice() -> bool:
            stored = set(await _stored_ids(database.path))
            return bus.counters["batch_failures"] >= 2 and stored >= {e.event_id for e in fine}

        await wait_for_async(fine_stored_blocked_failed_twice, timeout=20, message="fine stored")
        info = await _consumer_info(bus)
        assert _floor(info) == 0, "acked a blocked event that is not stored"
        assert (info.num_ack_pending or 0) >= len(blocked)
        await asyncio.to_thread(_execute_script, database.path, "DELETE FROM test_block;")
        await _wait_all_acked(bus, len(blocked) + len(fine))
    finally:
        done.set()
        await asyncio.wait_for(running, 20)
    stored = await _stored_ids(database.path)
    assert sorted(stored) == sorted(event.event_id for event in [*blocked, *fine])


async def test_a_delivery_that_never_arrives_is_not_acked_and_is_stored_when_delivered_again(
    storage_parts: tuple[Database, Bus], bus_factory: BusFactory
) -> None:
    database, bus = storage_parts
    ingestor = LosingIngestor(
        database, bus.counters, batch_size=10, batch_interval_seconds=0.02, lose_at=5
    )
    consumer = StorageConsumer(bus, ingestor, ack_wait_seconds=SHORT_ACK_WAIT_SECONDS)
    publisher = await bus_factory(ServiceName.PROBE)
    events = [factories.request(response_time_ms=float(index + 1)) for index in range(40)]
    await publish_all(publisher, events)
    done = asyncio.Event()
    running = asyncio.create_task(_run_consumer(ingestor, consumer, done))
    try:
        await _wait_all_acked(bus, len(events))
    finally:
        done.set()
        await asyncio.wait_for(running, 20)
    stored = await _stored_ids(database.path)
    assert sorted(stored) == sorted(event.event_id for event in events)
    assert ingestor.seen > len(events)  # the lost one came again


@pytest.mark.parametrize("old_mode", list(AckMode))
async def test_a_durable_left_by_a_killed_storage_is_replaced_from_its_ack_floor(
    storage_parts: tuple[Database, Bus],
    bus_factory: BusFactory,
    old_mode: AckMode,
) -> None:
    database, bus = storage_parts
    publisher = await bus_factory(ServiceName.PROBE)
    events = [factories.request(response_time_ms=float(index + 1)) for index in range(30)]
    await publish_all(publisher, events)
    old = await bus_factory(ServiceName.STORAGE)
    delivered: list[Msg] = []

    async def ack_ten(event: Event, msg: Msg) -> None:
        delivered.append(msg)  # an old storage that stored the first ten, then died
        if len(delivered) <= 10 and (old_mode is AckMode.EXPLICIT or len(delivered) == 10):
            await msg.ack()

    subscription = await old.consume_durable(subjects.STORAGE_DURABLE, ack_ten, ack=old_mode)
    await wait_for_async(_ack_floor_at(old, 10), timeout=10, message="old durable acked ten")
    await subscription.unsubscribe()
    ingestor = Ingestor(database, bus.counters, batch_size=10, batch_interval_seconds=0.02)
    consumer = StorageConsumer(bus, ingestor)  # the default ack wait: 30 s
    done = asyncio.Event()
    running = asyncio.create_task(_run_consumer(ingestor, consumer, done))
    try:  # well within the ack wait: delivered again at once, not when it runs out
        await _wait_all_acked(bus, len(events), timeout=10)
        info = await _consumer_info(bus)
    finally:
        done.set()
        await asyncio.wait_for(running, 20)
    assert info.config.ack_policy == api.AckPolicy.EXPLICIT
    assert sorted(await _stored_ids(database.path)) == sorted(e.event_id for e in events[10:])


def _ack_floor_at(bus: Bus, stream_seq: int) -> Callable[[], Awaitable[bool]]:
    async def reached() -> bool:
        return _floor(await _consumer_info(bus)) >= stream_seq

    return reached


def _execute_script(database_path: Path, script: str) -> None:
    conn = sqlite3.connect(database_path, timeout=10)
    try:
        conn.executescript(script)
    finally:
        conn.close()
