"""Retention by days, row caps, and online backups while ingest runs."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from ollamon_core import subjects
from ollamon_core.bus import QueryFailedError
from ollamon_core.events import AlertState, Event, ServiceName, utc_now
from ollamon_core.events.queries import BackupRequest, CleanupRequest
from ollamon_storage import maintenance, rows, writer
from ollamon_storage.database import Database
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.services.storage import factories
from tests.services.storage.conftest import count_rows_async, publish_all
from tests.support.waiting import wait_for_async


async def _write(database: Database, events: list[Event]) -> None:
    await writer.write_batch(
        database, rows.group_rows((event, event.model_dump_json()) for event in events)
    )


async def _count(database: Database, sql: str) -> int:
    async with database.reader.execute(sql) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


NO_CAPS = maintenance.RowCaps({table: 10**9 for table in maintenance.RAW_TABLES})


async def test_cleanup_deletes_rows_and_rollups_older_than_the_days_kept(
    database: Database,
) -> None:
    old = utc_now() - timedelta(days=10)
    await _write(
        database,
        [factories.request(at=old) for _ in range(5)]
        + [factories.request() for _ in range(3)]
        + [factories.system(at=old), factories.system()]
        + [
            factories.alert(fingerprint="old-firing", at=old),
            factories.alert(fingerprint="old-resolved", state=AlertState.RESOLVED, at=old),
        ],
    )
    deleted = await maintenance.cleanup(database, 7, NO_CAPS)
    assert deleted["requests"] == 5
    assert deleted["system_samples"] == 1
    assert deleted["request_rollups"] == 2  # the old minute and the old hour
    assert deleted["alert_state"] == 1
    assert await _count(database, "SELECT COUNT(*) FROM requests") == 3
    assert (
        await _count(
            database, "SELECT SUM(request_count) FROM request_rollups WHERE resolution_s = 60"
        )
        == 3
    )
    # A firing alert stays listed as active however old it is.
    assert await _count(database, "SELECT COUNT(*) FROM alert_state") == 1


async def test_row_caps_keep_the_newest_rows_of_each_table(database: Database) -> None:
    await _write(database, [factories.request(response_time_ms=float(i)) for i in range(120)])
    await _write(database, [factories.system(cpu=float(i)) for i in range(30)])
    caps = maintenance.RowCaps(NO_CAPS.per_table | {"requests": 50, "system_samples": 10})
    deleted = await maintenance.enforce_caps(database, caps)
    assert deleted["requests"] == 70
    assert deleted["system_samples"] == 20
    assert await _count(database, "SELECT MIN(response_time_ms) FROM requests") == 70
    # Aggregates outlive the raw detail.
    assert (
        await _count(
            database, "SELECT SUM(request_count) FROM request_rollups WHERE resolution_s = 3600"
        )
        == 120
    )


def test_default_caps_are_no_lower_than_the_seed() -> None:
    caps = maintenance.RowCaps.from_settings(StorageSettings())
    assert caps.per_table["requests"] >= 50_000
    assert caps.per_table["system_samples"] >= 10_000
    assert caps.per_table["alerts"] >= 1_000


async def test_cleanup_over_nats_reports_deleted_rows(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.GATEWAY)
    await publish_all(bus, [factories.request(at=utc_now() - timedelta(days=3))] * 1)
    await publish_all(bus, [factories.request()])

    async def both() -> bool:
        return await count_rows_async(running_storage.database_path, "requests") == 2

    await wait_for_async(both, timeout=10, message="2 requests stored")
    reply = await bus.request(subjects.QUERY_CLEANUP, CleanupRequest(days_to_keep=1))
    assert reply.deleted["requests"] == 1
    assert await count_rows_async(running_storage.database_path, "requests") == 1


def _check_backup(path: Path) -> tuple[str, int, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        requests = conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        rolled = conn.execute(
            "SELECT COALESCE(SUM(request_count), 0) FROM request_rollups WHERE resolution_s = 60"
        ).fetchone()[0]
    finally:
        conn.close()
    return integrity, requests, rolled


@pytest.mark.timeout(120)
async def test_a_backup_taken_while_ingesting_is_consistent_and_readable(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.PROBE)
    events = [factories.request() for _ in range(20_000)]
    publishing = asyncio.create_task(publish_all(bus, events))

    async def ingesting() -> bool:
        return await count_rows_async(running_storage.database_path, "requests") >= 2_000

    await wait_for_async(ingesting, timeout=30, message="ingest under way")
    reply = await bus.request(subjects.QUERY_BACKUP, BackupRequest(), timeout=30)
    await publishing
    assert Path(reply.path).parent == Path("backups")  # relative to the storage path
    backup_path = running_storage.storage_path / reply.path
    assert reply.size_bytes == (await asyncio.to_thread(backup_path.stat)).st_size
    integrity, requests, rolled = await asyncio.to_thread(_check_backup, backup_path)
    assert integrity == "ok"
    assert requests > 0
    assert rolled == requests  # raw rows and rollups come from the same committed batches


async def test_a_backup_path_outside_the_backup_folder_is_refused(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    bus = await bus_factory(ServiceName.GATEWAY)
    with pytest.raises(QueryFailedError) as raised:
        await bus.request(subjects.QUERY_BACKUP, BackupRequest(filepath="../../copy.db"))
    assert raised.value.error.status_code == 400
