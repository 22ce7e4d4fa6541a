"""Storage keeps benchmark runs from the stream (once each) and answers the benchmarks
query: runs newest first, the ranking, the version comparisons (an unknown host is a 404);
retention and the row cap take a run's results with it; schema version 7 adds the tables."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from ollamon_core import subjects
from ollamon_core.bus import QueryFailedError
from ollamon_core.events import BenchmarkRun, Event, ServiceName
from ollamon_core.events.benchmark_queries import BenchmarksQuery, BenchmarksReply, ComparisonMetric
from ollamon_core.events.queries import ExportFormat
from ollamon_storage import export, maintenance, rows, schema, writer
from ollamon_storage.benchmark_reads import BenchmarkReads
from ollamon_storage.database import Database
from ollamon_storage.schema import MIGRATIONS, migrate, migrate_file
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.support.benchmark_runs import benchmark_run, model_result
from tests.support.waiting import wait_for_async


async def _write(database: Database, events: list[Event]) -> None:
    await writer.write_batch(
        database, rows.group_rows((event, event.model_dump_json()) for event in events)
    )


async def _count(database: Database, table: str) -> int:
    async with database.reader.execute(f"SELECT COUNT(*) FROM {table}") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def test_runs_from_the_stream_are_ranked_and_an_upgrade_is_compared(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    probe = await bus_factory(ServiceName.PROBE)
    before = benchmark_run(
        0, "0.12.3", model_result("llama3.2:1b", 100.0), model_result("big", 20.0)
    )
    after = benchmark_run(1, "0.12.6", model_result("llama3.2:1b", 80.0))
    other_host = benchmark_run(2, "0.12.6", model_result("llama3.2:1b", 150.0), host="gpu-b")
    again = after.model_copy(update={"event_id": "another-event-id"})  # the same run once more
    for event in (after, before, other_host, again):
        await probe.publish_persistent(event)

    async def stored() -> BenchmarksReply | None:
        reply = await probe.request(subjects.QUERY_BENCHMARKS, BenchmarksQuery())
        return reply if len(reply.runs) == 3 else None

    reply = await wait_for_async(stored, timeout=15, message="three stored runs")
    assert isinstance(reply, BenchmarksReply)
    assert [run.run_id for run in reply.runs] == ["run-2", "run-1", "run-0"]
    assert reply.runs[1] == after
    assert [(row.rank, row.model, row.host, row.run_id) for row in reply.ranking] == [
        (1, "llama3.2:1b", "gpu-b", "run-2"),
        (2, "llama3.2:1b", "gpu-a", "run-1"),
        (3, "big", "gpu-a", "run-0"),
    ]
    flagged = [item for item in reply.comparisons if item.flagged]
    assert [(item.metric, item.message) for item in flagged] == [
        (ComparisonMetric.EVAL, "0.12.3 -> 0.12.6: llama3.2:1b eval -20 % on gpu-a")
    ]

    one_model = await probe.request(subjects.QUERY_BENCHMARKS, BenchmarksQuery(model="big"))
    assert [run.run_id for run in one_model.runs] == ["run-0"]
    assert [item.model for item in one_model.runs[0].models] == ["big"]
    assert one_model.comparisons == []
    one_host = await probe.request(
        subjects.QUERY_BENCHMARKS, BenchmarksQuery(host="gpu-b", limit=1)
    )
    assert [run.run_id for run in one_host.runs] == ["run-2"]
    assert [row.host for row in one_host.ranking] == ["gpu-b"]
    newest = await probe.request(subjects.QUERY_BENCHMARKS, BenchmarksQuery(limit=1))
    assert [run.run_id for run in newest.runs] == ["run-2"]
    assert len(newest.ranking) == 3  # the ranking looks further back than the list


async def test_a_run_is_stored_once_with_one_result_row_per_model_and_case(
    database: Database,
) -> None:
    run = benchmark_run(0, "0.12.3", model_result("a", 50.0), model_result("b", 60.0))
    await _write(database, [run, run.model_copy(update={"event_id": "again"})])
    await _write(database, [run])
    assert await _count(database, "benchmark_runs") == 1
    assert await _count(database, "benchmark_results") == 4  # 2 models x 2 cases


async def test_a_run_makes_its_host_known_and_an_unknown_host_is_a_404(
    database: Database,
) -> None:
    await _write(database, [benchmark_run(0, "0.12.3", model_result("a", 50.0), host="bench-only")])
    reads = BenchmarkReads(database.reader)
    reply = await reads.benchmarks(BenchmarksQuery(host="bench-only"))
    assert [run.run_id for run in reply.runs] == ["run-0"]
    async with database.reader.execute("SELECT host FROM hosts") as cursor:
        assert await cursor.fetchall() == [("bench-only",)]
    # A known host with no run of the model is an empty answer, not a 404.
    assert (await reads.benchmarks(BenchmarksQuery(host="bench-only", model="b"))).runs == []
    with pytest.raises(QueryFailedError) as raised:
        await reads.benchmarks(BenchmarksQuery(host="nowhere"))
    assert raised.value.error.status_code == 404
    assert "'nowhere'" in raised.value.error.error


async def test_retention_and_the_row_cap_delete_runs_with_their_results(
    database: Database,
) -> None:
    old = benchmark_run(0, "0.12.3", model_result("a", 50.0), minutes_ago=10 * 24 * 60)
    recent = [benchmark_run(index, "0.12.3", model_result("a", 50.0)) for index in (1, 2, 3)]
    await _write(database, [old, *recent])
    no_caps = maintenance.RowCaps({table: 10**9 for table in maintenance.RAW_TABLES})
    deleted = await maintenance.cleanup(database, 7, no_caps)
    assert deleted["benchmark_runs"] == 1
    assert await _count(database, "benchmark_results") == 6
    capped = maintenance.RowCaps(no_caps.per_table | {"benchmark_runs": 1})
    assert (await maintenance.enforce_caps(database, capped))["benchmark_runs"] == 2
    assert await _count(database, "benchmark_results") == 2
    async with database.reader.execute("SELECT DISTINCT run_id FROM benchmark_results") as cursor:
        assert await cursor.fetchall() == [("run-3",)]


def test_a_version_6_database_gains_the_benchmark_tables(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    conn = schema.open_database(path)
    migrate(conn, MIGRATIONS[:6])
    conn.close()

    assert migrate_file(path)[0] == 7
    conn = sqlite3.connect(path)
    try:
        for table in ("benchmark_runs", "benchmark_results"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
        triggers = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        assert triggers == [("benchmark_results_follow_run",)]
    finally:
        conn.close()


def test_the_run_row_is_stamped_when_the_run_finished() -> None:
    run = benchmark_run(0, None, model_result("a", 50.0))
    run = run.model_copy(update={"timestamp": run.finished_at + timedelta(seconds=5)})
    batch = rows.group_rows([(run, run.model_dump_json())])
    (row,) = batch.inserts["benchmark_runs"]
    assert row[2] == rows.timestamp_ms(run.finished_at)


async def test_an_export_holds_the_benchmark_runs(database: Database, tmp_path: Path) -> None:
    run = benchmark_run(0, "0.12.3", model_result("a", 50.0))
    await _write(database, [run])
    target = tmp_path / "all.json"
    result = await asyncio.to_thread(
        export.export_database, database.path, target, ExportFormat.JSON
    )
    assert result.row_counts["benchmark_runs"] == 1
    document = json.loads(await asyncio.to_thread(target.read_text))
    (exported,) = document["tables"]["benchmark_runs"]
    assert BenchmarkRun.model_validate(exported) == run
