"""Ingest through a real nats-server into a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from nats.aio.msg import Msg

from ollamon_core import subjects
from ollamon_core.bus import ERROR_HEADER, Bus, encode
from ollamon_core.events import Heartbeat, OllamaModelMetrics, OllamaSystemMetrics, ServiceName
from ollamon_core.events.system import GpuSample
from ollamon_storage.ingest import BUSY_BATCH_EVENTS
from ollamon_storage.service import running_storage
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.services.storage import factories
from tests.services.storage.conftest import (
    count_rows_async,
    fetch_all_async,
    make_settings,
    publish_all,
    wait_for_ready,
)
from tests.support.waiting import wait_for, wait_for_async


async def _rows_reach(settings: StorageSettings, table: str, expected: int) -> None:
    async def reached() -> bool:
        return await count_rows_async(settings.database_path, table) >= expected

    await wait_for_async(reached, timeout=15, message=f"{expected} rows in {table}")


async def test_every_kind_of_event_lands_in_its_table(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.PROBE)
    await bus.publish_persistent(factories.request())
    await bus.publish_persistent(factories.system())
    await bus.publish_persistent(factories.alert())
    await bus.publish_persistent(factories.score("m", 7.5))
    for table in ("requests", "system_samples", "alerts", "scores", "alert_state"):
        await _rows_reach(running_storage, table, 1)
    for resolution in (60, 3600):
        counts = await fetch_all_async(
            running_storage.database_path,
            "SELECT request_count FROM request_rollups WHERE resolution_s = ?",
            resolution,
        )
        assert counts == [(1,)]


async def test_a_resent_event_is_stored_once(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.PROBE)
    event = factories.request()
    # Plain publishes bypass the stream's duplicate window only when ids differ, so resend
    # it under other message ids: storage's INSERT OR IGNORE must catch it.
    for attempt in range(3):
        await bus.js.publish(
            subjects.subject_for(event),
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": f"{event.event_id}-{attempt}"},
        )
    marker = factories.request(model_name="marker")
    await bus.publish_persistent(marker)
    await _rows_reach(running_storage, "requests", 2)
    await _rows_reach(running_storage, "request_rollups", 4)
    database = running_storage.database_path
    rows = await fetch_all_async(database, "SELECT event_id FROM requests ORDER BY id")
    [(rollup_total,)] = await fetch_all_async(
        database, "SELECT SUM(request_count) FROM request_rollups WHERE resolution_s = 60"
    )
    assert sorted(row[0] for row in rows) == sorted([event.event_id, marker.event_id])
    assert rollup_total == 2


async def test_poison_messages_are_dead_lettered_and_good_ones_stored(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.PROBE)
    dead: list[Msg] = []

    async def keep(msg: Msg) -> None:
        dead.append(msg)

    await bus.nc.subscribe(subjects.DEADLETTER_ALL, cb=keep)
    good = [factories.request(response_time_ms=float(index + 1)) for index in range(200)]
    poison = [b"{not json", b'{"model_name": 5}', b"", json.dumps({"kind": "request"}).encode()]
    for index, event in enumerate(good):
        await bus.publish_persistent(event)
        if index % 50 == 0:
            await bus.js.publish("ollamon.requests.poison", poison[index // 50])
    await _rows_reach(running_storage, "requests", len(good))
    await wait_for(lambda: len(dead) == len(poison), timeout=10, message="dead letters")
    assert sorted(msg.data for msg in dead) == sorted(poison)
    assert all(msg.headers and msg.headers.get(ERROR_HEADER) for msg in dead)
    rows = await fetch_all_async(running_storage.database_path, "SELECT event_id FROM requests")
    assert {row[0] for row in rows} == {event.event_id for event in good}

    async def all_acked() -> bool:  # the consumer moved past the poison
        info = await bus.js.consumer_info(subjects.STREAM_EVENTS, subjects.STORAGE_DURABLE)
        return info.num_pending == 0 and info.num_ack_pending == 0

    await wait_for_async(all_acked, timeout=10, message="every message acked")


async def test_an_event_beyond_a_bound_is_dead_lettered_and_lax_input_is_stored(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    # Storage decodes with msgspec mirrors of the models (decoding.py): what the model
    # refuses must still be a dead letter, and what it accepts must still be stored.
    bus = await bus_factory(ServiceName.PROBE)
    dead: list[Msg] = []

    async def keep(msg: Msg) -> None:
        dead.append(msg)

    await bus.nc.subscribe(subjects.DEADLETTER_ALL, cb=keep)
    body = json.loads(factories.request().model_dump_json())
    beyond = [
        {**body, "event_id": "negative", "response_time_ms": -1},
        {**body, "event_id": "naive", "timestamp": "2026-01-01T00:00:00"},
        {**body, "event_id": "newline", "kind": "request\n"},
        {**body, "event_id": "extra", "surprise": 1},
    ]
    lax = {**body, "event_id": "lax", "response_time_ms": "12.5"}
    for payload in [*beyond, lax]:
        await bus.js.publish("ollamon.requests.box-1", json.dumps(payload).encode())
    await _rows_reach(running_storage, "requests", 1)
    await wait_for(lambda: len(dead) == len(beyond), timeout=10, message="dead letters")
    assert sorted(json.loads(msg.data)["event_id"] for msg in dead) == sorted(
        payload["event_id"] for payload in beyond
    )
    rows = await fetch_all_async(
        running_storage.database_path, "SELECT event_id, response_time_ms FROM requests"
    )
    assert rows == [("lax", 12.5)]


async def test_a_request_row_keeps_only_the_fields_off_their_default_and_reads_back_whole(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.PROBE)
    event = factories.request(tokens_per_second=33.5, streamed=True)
    await bus.publish_persistent(event)
    await _rows_reach(running_storage, "requests", 1)
    [(data,)] = await fetch_all_async(running_storage.database_path, "SELECT data FROM requests")
    stored = json.loads(data)
    assert "memory_usage_mb" not in stored  # None, the default
    assert "tokens_input" not in stored  # 0, the default
    assert "source" not in stored  # RequestSource.PROXY, the default
    assert (stored["streamed"], stored["tokens_per_second"]) == (True, 33.5)
    assert len(data) < len(event.model_dump_json()) / 2
    assert data == encode(event).decode()  # the bus's compact form, stored as it came
    assert OllamaModelMetrics.model_validate_json(data) == event


async def test_a_request_sent_whole_by_another_client_is_stored_compact_and_reads_back_whole(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.PROBE)
    event = factories.request(tokens_per_second=12.0)
    await bus.js.publish(subjects.subject_for(event), event.model_dump_json().encode())
    await _rows_reach(running_storage, "requests", 1)
    [(data,)] = await fetch_all_async(running_storage.database_path, "SELECT data FROM requests")
    assert "memory_usage_mb" not in json.loads(data)  # None, the default
    assert len(data) < len(event.model_dump_json()) / 2
    assert OllamaModelMetrics.model_validate_json(data) == event


async def test_a_system_sample_is_stored_compact_and_reads_back_whole(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.COLLECTOR)
    sample = factories.system().model_copy(update={"gpus": [GpuSample(index=0, name="gpu")]})
    await bus.publish_persistent(sample)
    await _rows_reach(running_storage, "system_samples", 1)
    [(data,)] = await fetch_all_async(
        running_storage.database_path, "SELECT data FROM system_samples"
    )
    assert json.loads(data)["gpus"] == [{"index": 0, "name": "gpu"}]
    assert OllamaSystemMetrics.model_validate_json(data) == sample


async def test_heartbeats_carry_ingest_counters(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.GATEWAY)
    beats: list[Heartbeat] = []

    async def keep(event: object, _msg: Msg) -> None:
        if isinstance(event, Heartbeat) and event.service == ServiceName.STORAGE:
            beats.append(event)

    await bus.subscribe(subjects.HEARTBEAT_ALL, keep)
    await bus.js.publish("ollamon.requests.poison", b"{bad")
    await publish_all(bus, [factories.request() for _ in range(30)])
    await wait_for(
        lambda: beats and beats[-1].counters.get("ingested", 0) >= 30,
        timeout=10,
        message="heartbeat with ingested >= 30",
    )
    counters = beats[-1].counters
    assert counters["batches"] >= 1
    assert counters["last_batch_size"] >= 1
    assert counters["dead_lettered"] == 1


async def test_events_within_the_linger_share_one_commit_and_none_is_acked_before_it(
    tmp_path: Path, bus_factory: BusFactory, clean_nats_url: str
) -> None:
    # Group commit: at a low rate the batch waits up to batch_interval_seconds for more.
    settings = make_settings(tmp_path / "data", clean_nats_url, batch_interval_seconds=2.0)
    async with running_storage(settings) as runtime:
        await wait_for_ready(settings)
        bus = await bus_factory(ServiceName.PROBE)
        events = [factories.request(response_time_ms=float(index)) for index in range(3)]
        for event in events:
            await bus.publish_persistent(event)

        async def unacked(count: int) -> bool:
            info = await bus.js.consumer_info(subjects.STREAM_EVENTS, subjects.STORAGE_DURABLE)
            return info.num_ack_pending == count and info.num_pending == 0

        await wait_for_async(lambda: unacked(3), timeout=5, message="3 delivered, unacked")
        assert await count_rows_async(settings.database_path, "requests") == 0
        await _rows_reach(settings, "requests", 3)
        assert runtime.bus.counters["batches"] == 1
        await wait_for_async(lambda: unacked(0), timeout=5, message="acked after the commit")


async def test_a_burst_is_not_held_back_by_the_linger(
    tmp_path: Path, bus_factory: BusFactory, clean_nats_url: str
) -> None:
    # A batch of BUSY_BATCH_EVENTS or more commits after the short interval, not the linger.
    settings = make_settings(tmp_path / "data", clean_nats_url, batch_interval_seconds=30.0)
    async with running_storage(settings):
        await wait_for_ready(settings)
        bus = await bus_factory(ServiceName.PROBE)
        burst = [factories.request() for _ in range(BUSY_BATCH_EVENTS * 2 + 3)]
        await publish_all(bus, burst)
        await _rows_reach(settings, "requests", len(burst))  # within 15 s, not 30


async def test_storage_sets_the_stream_max_age_to_its_retention(
    tmp_path: Path, bus_factory: BusFactory, clean_nats_url: str
) -> None:
    bus: Bus = await bus_factory(ServiceName.GATEWAY)  # creates the stream with 30 days
    settings = make_settings(tmp_path / "data", clean_nats_url, retention_days=7)
    async with running_storage(settings):
        await wait_for_ready(settings)
        info = await bus.js.stream_info(subjects.STREAM_EVENTS)
    assert info.config.max_age == 7 * 86400
