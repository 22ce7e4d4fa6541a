"""The summary says how many requests bypassed the proxy (source="log"), per host and in
all, from the period asked; the count reads the partial index of those rows."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from ollamon_core.events import UNKNOWN_MODEL, OllamaModelMetrics, RequestSource, utc_now
from ollamon_core.events import queries as q
from ollamon_storage import schema
from ollamon_storage.database import Database
from ollamon_storage.queries import QueryService
from tests.services.storage import factories
from tests.support.two_hosts import store_events


def bypassing(host: str, hours_ago: float = 0.0) -> OllamaModelMetrics:
    return factories.request(
        UNKNOWN_MODEL,
        812.5,
        at=utc_now() - timedelta(hours=hours_ago),
        host=host,
        model_unknown=True,
        source=RequestSource.LOG,
        client_address="192.168.1.20",
    )


async def test_the_summary_counts_bypassing_requests_per_host(tmp_path: Path) -> None:
    path = tmp_path / "ollamon.db"
    await store_events(
        path,
        [
            factories.request(host="box-1"),
            factories.request(host="box-1"),
            bypassing("box-1"),
            bypassing("box-1"),
            bypassing("box-2"),
            bypassing("box-2", hours_ago=30),  # outside the 24 h asked
            factories.request(host="box-2"),
        ],
    )
    database = await Database.open(path)
    try:
        queries = QueryService(database.reader)
        summary = await queries.summary(q.SummaryQuery(hours=24))
        assert (summary.total_requests, summary.bypassed_requests) == (6, 3)
        assert {host.host: host.bypassed_requests for host in summary.hosts} == {
            "box-1": 2,
            "box-2": 1,
        }
        one = await queries.summary(q.SummaryQuery(hours=24, host="box-2"))
        assert one.bypassed_requests == 1
        async with database.reader.execute(
            "EXPLAIN QUERY PLAN SELECT host, COUNT(*) FROM requests "
            "WHERE json_extract(data, '$.source') = 'log' AND ts_ms >= ? GROUP BY host",
            (0,),
        ) as cursor:
            plan = " ".join(str(row[-1]) for row in await cursor.fetchall())
        assert "requests_from_log" in plan
    finally:
        await database.close()


def test_a_version_5_database_gains_the_index(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"
    conn = schema.open_database(path)
    schema.migrate(conn, schema.MIGRATIONS[:5])
    conn.close()
    assert schema.migrate_file(path) == list(range(6, schema.LATEST_VERSION + 1))
    conn = sqlite3.connect(path)
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert "requests_from_log" in names
    finally:
        conn.close()
