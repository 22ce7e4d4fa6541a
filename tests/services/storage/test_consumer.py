"""Cumulative acks never ack what is not stored: failed commits, lost deliveries, old durables.

Each test arranges the failure for real (a SQLite trigger that aborts inserts, an ingestor
that loses one delivery, a durable left acking one by one) and checks that every event ends
up stored exactly once; acking past the failure would lose events and fail the count.
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
from ollamon_core.bus import Bus
from ollamon_core.events import Event, ServiceName
from ollamon_storage.consumer import StorageConsumer
from ollamon_storage.database import Database
from ollamon_storage.ingest import Ingestor
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.services.storage import factories
from tests.services.storage.conftest import count_rows_async, make_settings, publish_all
from tests.support.waiting import wait_for_async

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


async def _wait_all_acked(bus: Bus, last_stream_seq: int) -> None:
    async def acked() -> bool:
        try:
            info = await _consumer_info(bus)
        except nats.js.errors.NotFoundError:  # between a delete and a create in a resync
            return False
        return _floor(info) >= last_stream_seq and info.num_ack_pending == 0

    await wait_for_async(acked, timeout=20, message=f"ack floor at {last_stream_seq}")


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
    tasks = [asyncio.create_task(ingestor.run()), asyncio.create_task(consumer.run_resyncs())]
    await consumer.start()
    try:
        await until.wait()
    finally:
        await consumer.stop()
        ingestor.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_failed_commit_acks_nothing_after_it_until_it_is_stored(
    storage_parts: tuple[Database, Bus],
    bus_factory: BusFactory,
) -> None:
    database, bus = storage_parts
    await asyncio.to_thread(_execute_script, database.path, BLOCK_SQL)
    ingestor = Ingestor(database, bus.counters, batch_size=10, batch_interval_seconds=0.02)
    consumer = StorageConsumer(bus, ingestor, resync_delay_seconds=0.2)
    publisher = await bus_factory(ServiceName.PROBE)
    blocked = [factories.request("blocked") for _ in range(30)]
    fine = [factories.request("fine") for _ in range(30)]
    await publish_all(publisher, [*blocked, *fine])
    done = asyncio.Event()
    running = asyncio.create_task(_run_consumer(ingestor, consumer, done))
    try:

        async def failed_twice() -> bool:
            return bus.counters["batch_failures"] >= 2

        await wait_for_async(failed_twice, timeout=20, message="two failed commits")
        info = await _consumer_info(bus)
        assert _floor(info) == 0, "acked past a batch that is not stored"
        await asyncio.to_thread(_execute_script, database.path, "DELETE FROM test_block;")
        await _wait_all_acked(bus, len(blocked) + len(fine))
    finally:
        done.set()
        await asyncio.wait_for(running, 20)
    stored = await _stored_ids(database.path)
    assert sorted(stored) == sorted(event.event_id for event in [*blocked, *fine])
    assert bus.counters["consumer_resyncs"] >= 2


async def test_a_delivery_that_never_arrives_is_not_acked_and_is_stored_after_a_resync(
    storage_parts: tuple[Database, Bus], bus_factory: BusFactory
) -> None:
    database, bus = storage_parts
    ingestor = LosingIngestor(
        database, bus.counters, batch_size=10, batch_interval_seconds=0.02, lose_at=5
    )
    consumer = StorageConsumer(bus, ingestor, resync_delay_seconds=0.2)
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
    assert bus.counters["delivery_gaps"] == 1
    assert bus.counters["consumer_resyncs"] == 1


async def test_a_durable_left_acking_one_by_one_is_replaced_from_its_ack_floor(
    storage_parts: tuple[Database, Bus],
    bus_factory: BusFactory,
) -> None:
    database, bus = storage_parts
    publisher = await bus_factory(ServiceName.PROBE)
    events = [factories.request(response_time_ms=float(index + 1)) for index in range(30)]
    await publish_all(publisher, events)
    old = await bus_factory(ServiceName.STORAGE)
    acked: list[str] = []

    async def ack_some(event: Event, msg: Msg) -> None:
        if len(acked) < 10:  # an old storage that stored and acked the first ten, then died
            acked.append(event.event_id)
            await msg.ack()

    subscription = await old.consume_durable(subjects.STORAGE_DURABLE, ack_some)
    await wait_for_async(_ack_floor_at(old, 10), timeout=10, message="old durable acked ten")
    await subscription.unsubscribe()
    ingestor = Ingestor(database, bus.counters, batch_size=10, batch_interval_seconds=0.02)
    consumer = StorageConsumer(bus, ingestor)
    done = asyncio.Event()
    running = asyncio.create_task(_run_consumer(ingestor, consumer, done))
    try:
        await _wait_all_acked(bus, len(events))
        info = await _consumer_info(bus)
    finally:
        done.set()
        await asyncio.wait_for(running, 20)
    assert info.config.ack_policy == api.AckPolicy.ALL
    assert await count_rows_async(database.path, "requests") == len(events) - 10
    assert set(await _stored_ids(database.path)) == {e.event_id for e in events[10:]}


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
