"""Export: confined to the export folder, streamed with flat memory, right contents."""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from ollamon_core import subjects
from ollamon_core.bus import QueryFailedError
from ollamon_core.events import OllamaModelMetrics, OllamaSystemMetrics, ServiceName
from ollamon_core.events.queries import ExportFormat, ExportRequest
from ollamon_core.events.system import GpuSample
from ollamon_storage import schema
from ollamon_storage.export import EXPORT_TABLES, export_database
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.services.storage import factories
from tests.services.storage.conftest import count_rows_async, publish_all
from tests.support.waiting import wait_for_async


def _fill_requests(path: Path, count: int) -> None:
    """Write `count` request rows straight into a migrated file (fast)."""
    schema.migrate_file(path)
    template = factories.request(error_message="x" * 200)
    data = template.model_dump(mode="json")
    conn = sqlite3.connect(path)
    try:
        conn.executemany(
            "INSERT INTO requests (event_id, ts_ms, host, model_name, response_time_ms, "
            "load_duration_ms, error_occurred, cold_start, data) "
            "VALUES (?, ?, 'h', 'm', 1, 0, 0, 0, ?)",
            (
                (f"id{index}", index, json.dumps(data | {"event_id": f"id{index}"}))
                for index in range(count)
            ),
        )
        conn.commit()
    finally:
        conn.close()


def _export_peak_bytes(tmp_path: Path, count: int) -> int:
    path = tmp_path / f"db{count}" / "ollamon.db"
    _fill_requests(path, count)
    tracemalloc.start()
    try:
        reply = export_database(path, tmp_path / f"out{count}.json", ExportFormat.JSON)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reply.row_counts["requests"] == count
    return peak


def test_a_large_export_keeps_memory_flat(tmp_path: Path) -> None:
    small = _export_peak_bytes(tmp_path, 2_000)
    large = _export_peak_bytes(tmp_path, 40_000)
    exported = (tmp_path / "out40000.json").stat().st_size
    assert large <= small * 1.3 + 128 * 1024, (small, large)
    assert large < exported / 10, (large, exported)


@pytest.fixture
async def stored(running_storage: StorageSettings, bus_factory: BusFactory) -> StorageSettings:
    bus = await bus_factory(ServiceName.PROBE)
    await publish_all(
        bus,
        [factories.request(f"m{index % 2}") for index in range(10)]
        + [
            factories.system().model_copy(update={"gpus": [GpuSample(index=0, name="gpu")]}),
            factories.alert(),
        ],
    )

    async def all_there() -> bool:
        return await count_rows_async(running_storage.database_path, "requests") >= 10

    await wait_for_async(all_there, timeout=10, message="10 requests stored")
    await wait_for_async(
        lambda: count_rows_async(running_storage.database_path, "alerts"), timeout=10
    )
    return running_storage


async def test_a_json_export_holds_every_table_with_row_counts(
    stored: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.GATEWAY)
    reply = await bus.request(subjects.QUERY_EXPORT, ExportRequest(filepath="nested/all.json"))
    assert reply.path == "exports/nested/all.json"  # relative to the storage path
    target = stored.storage_path / reply.path
    assert reply.row_counts["requests"] == 10
    assert reply.row_counts["system_samples"] == 1
    document = json.loads(await asyncio.to_thread(target.read_text))
    assert len(document["tables"]["requests"]) == 10
    assert document["tables"]["alerts"][0]["alert_type"] == "slow_response"
    # Request rows are stored without their default fields; the export has them all.
    first = document["tables"]["requests"][0]
    assert list(first) == list(OllamaModelMetrics.model_fields)
    assert (first["method"], first["tokens_generated"], first["done_reason"]) == ("POST", 0, None)
    # So are system samples (compact on the bus), nested objects included.
    [system] = document["tables"]["system_samples"]
    assert list(system) == list(OllamaSystemMetrics.model_fields)
    assert list(system["gpus"][0]) == list(GpuSample.model_fields)
    assert (system["gpus"][0]["name"], system["gpus"][0]["uuid"]) == ("gpu", "")


async def test_a_csv_export_writes_one_file_per_table_with_event_columns(
    stored: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.GATEWAY)
    reply = await bus.request(subjects.QUERY_EXPORT, ExportRequest(format=ExportFormat.CSV))
    assert Path(reply.path).parent == Path("exports")
    assert len(reply.files) == len(EXPORT_TABLES)  # one per table, the delivery log too
    assert reply.files[0] == reply.path
    assert all(file.startswith("exports/") for file in reply.files)
    text = await asyncio.to_thread((stored.storage_path / reply.path).read_text)
    records = list(csv.DictReader(text.splitlines()))
    assert len(records) == 10
    assert {record["model_name"] for record in records} == {"m0", "m1"}
    assert "response_time_ms" in records[0]
    assert (records[0]["method"], records[0]["status_code"]) == ("POST", "200")  # defaults


@pytest.mark.parametrize(
    "filepath",
    ["../escape.json", "a/../../escape.json", "/tmp/ollamon-escape.json", "/etc/passwd"],
)
async def test_an_export_path_that_leaves_the_folder_is_refused(
    running_storage: StorageSettings, bus_factory: BusFactory, filepath: str
) -> None:
    bus = await bus_factory(ServiceName.GATEWAY)
    with pytest.raises(QueryFailedError) as raised:
        await bus.request(subjects.QUERY_EXPORT, ExportRequest(filepath=filepath))
    assert raised.value.error.status_code == 400
    assert "outside the folder" in raised.value.error.error
    assert not await asyncio.to_thread((running_storage.storage_path / "escape.json").exists)


def _link_out_of(folder: Path, outside: Path) -> None:
    """Links in `folder` to a folder and to a file in `outside`."""
    outside.mkdir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "out").symlink_to(outside, target_is_directory=True)
    (folder / "file.json").symlink_to(outside / "file.json")


async def test_an_export_through_a_symlink_pointing_out_is_refused(
    running_storage: StorageSettings, bus_factory: BusFactory, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    await asyncio.to_thread(_link_out_of, running_storage.export_path, outside)
    bus = await bus_factory(ServiceName.GATEWAY)
    for filepath in ("out/x.json", "file.json"):
        with pytest.raises(QueryFailedError) as raised:
            await bus.request(subjects.QUERY_EXPORT, ExportRequest(filepath=filepath))
        assert raised.value.error.status_code == 400
    assert await asyncio.to_thread(lambda: list(outside.iterdir())) == []
