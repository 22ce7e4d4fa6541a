"""System history over long periods: seven days of 5 s samples of two hosts are thinned in
SQLite to one sample per time slot and host, spread over the whole week, each host its share."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime

from ollamon_core.events import queries as q
from ollamon_storage.database import Database
from ollamon_storage.queries import THIN_IN_SQL_ABOVE_ROWS, QueryService
from tests.services.storage import factories

WEEK_S = 7 * 86400
INTERVAL_S = 5
HOSTS = ("box-1", "box-2")
TEMPLATE_TIME = datetime(2000, 1, 1, tzinfo=UTC)
TEMPLATE_ISO = "2000-01-01T00:00:00Z"


async def store_a_week(database: Database) -> float:
    """A week of samples every 5 s for each host (cpu = the sample's day); returns now.

    Rows are written as storage writes them (JSON in `data`, the time in `ts_ms`), from one
    JSON text per host and day with the time and id swapped in: 240k models would take 15 s.
    """
    now = time.time()
    rows = []
    for host in HOSTS:
        for day in range(7):
            template = factories.system(at=TEMPLATE_TIME, cpu=float(day), host=host)
            text = template.model_dump_json()
            first = day * 86400 // INTERVAL_S
            last = min((day + 1) * 86400, WEEK_S) // INTERVAL_S
            for index in range(first, last):
                at = now - WEEK_S + 30 + index * INTERVAL_S
                event_id = f"{host}-{index}"
                data = text.replace(TEMPLATE_ISO, datetime.fromtimestamp(at, UTC).isoformat())
                data = data.replace(template.event_id, event_id)
                rows.append((event_id, int(at * 1000), host, data))
    async with database.transaction() as conn:
        await conn.executemany(
            "INSERT INTO system_samples (event_id, ts_ms, host, data) VALUES (?, ?, ?, ?)", rows
        )
        await conn.executemany(
            "INSERT INTO hosts (host, first_seen_ms, last_seen_ms) VALUES (?, ?, ?)",
            [(host, int((now - WEEK_S) * 1000), int(now * 1000)) for host in HOSTS],
        )
    return now


async def test_seven_days_of_two_hosts_come_back_thinned_over_the_week_and_one_host_alone(
    database: Database,
) -> None:
    now = await store_a_week(database)
    queries = QueryService(database.reader)
    started = time.perf_counter()
    reply = await queries.system_history(q.SystemHistoryQuery(hours=168, limit=720))
    elapsed = time.perf_counter() - started

    assert reply.total_in_period == len(HOSTS) * WEEK_S // INTERVAL_S > THIN_IN_SQL_ABOVE_ROWS
    for host in HOSTS:
        samples = [sample for sample in reply.samples if sample.host == host]
        assert 340 <= len(samples) <= 360, host  # its share of 720
        times = [sample.timestamp.timestamp() for sample in samples]
        assert times == sorted(times)
        # From the first hour of the week to the last minutes, no slot much wider than
        # a week / 358 (about 28 min).
        assert times[0] - (now - WEEK_S) < 3600 and now - times[-1] < 1800
        assert max(b - a for a, b in itertools.pairwise(times)) < 2 * WEEK_S / 358
        assert {sample.cpu_usage_percent for sample in samples} == {float(d) for d in range(7)}
    assert elapsed < 5.0  # about 0.1 s on a quiet machine

    # One host over two days (above the SQL thinning's threshold too): only that host.
    one = await queries.system_history(q.SystemHistoryQuery(hours=48, limit=100, host="box-2"))
    assert {sample.host for sample in one.samples} == {"box-2"}
    assert 90 <= len(one.samples) <= 100
    assert 48 * 3600 // INTERVAL_S <= one.total_in_period <= 48 * 3600 // INTERVAL_S + 10
