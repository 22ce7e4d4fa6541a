"""Complete hours merged once per (host, model) and kept while their rows do not change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ollamon_core.events import Event, utc_now
from ollamon_core.events import queries as q
from ollamon_storage import fleet, maintenance, rows, writer
from ollamon_storage.database import Database
from ollamon_storage.hour_cache import CompleteHoursCache
from ollamon_storage.queries import QueryService
from ollamon_storage.rollups import Rollup
from tests.services.storage import factories


def _rollup(count: int) -> Rollup:
    return Rollup(request_count=count)


def test_a_pair_is_kept_while_its_signature_holds_and_merged_again_when_it_changes() -> None:
    cache = CompleteHoursCache()
    window = (0, 7200)
    signatures = {("vm", "m"): (2, 10, 99), ("hostB", "m"): (2, 4, 98)}
    assert cache.split(window, signatures) == ({}, [("vm", "m"), ("hostB", "m")])
    cache.keep(window, signatures, [(("vm", "m"), _rollup(10)), (("hostB", "m"), _rollup(4))])
    changed = {("vm", "m"): (2, 10, 99), ("hostB", "m"): (2, 5, 120)}  # a late request
    kept, stale = cache.split(window, changed)
    assert {pair: rollup.request_count for pair, rollup in kept.items()} == {("vm", "m"): 10}
    assert stale == [("hostB", "m")]
    assert cache.split((3600, 10800), signatures)[0] == {}  # another window knows nothing


def test_only_the_newest_windows_are_kept() -> None:
    cache = CompleteHoursCache(max_windows=2)
    signatures = {("vm", "m"): (1, 1, 1)}
    for start in (0, 3600, 7200):
        cache.keep((start, start + 3600), signatures, [(("vm", "m"), _rollup(1))])
    assert cache.split((0, 3600), signatures)[0] == {}
    assert cache.split((7200, 10800), signatures)[0] != {}


def _history() -> list[Event]:
    """Two hosts' requests every 20 minutes over 30 hours, one model each plus a shared one."""
    now = utc_now()
    events: list[Event] = []
    for index in range(90):
        at = now - timedelta(minutes=20 * index)
        events.append(factories.request("shared", 100.0 + index, host="vm", at=at))
        events.append(factories.request("shared", 900.0 + index, host="hostB", at=at))
        events.append(factories.request("only-b", 50.0, host="hostB", at=at))
    return events


async def _write(database: Database, events: list[Event]) -> None:
    await writer.write_batch(
        database, rows.group_rows((event, event.model_dump_json()) for event in events)
    )


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "ollamon.db")
    try:
        await _write(db, _history())
        yield db
    finally:
        await db.close()


def _as_rows(merged: dict[fleet.HostModel, Rollup]) -> dict[fleet.HostModel, tuple[object, ...]]:
    return {
        pair: (
            rollup.request_count,
            rollup.response_time_sum_ms,
            rollup.last_timestamp_ms,
            sorted(rollup.latency_histogram.items()),
        )
        for pair, rollup in merged.items()
    }


async def test_the_cached_answer_is_the_one_merged_from_every_row(database: Database) -> None:
    queries = QueryService(database.reader)
    from_rows = fleet.combine_by_host_model(await queries.period_rollups(24.0))
    first = await queries.period_by_host_model(24.0)
    second = await queries.period_by_host_model(24.0)
    assert _as_rows(first) == _as_rows(second) == _as_rows(from_rows)
    assert queries.hour_cache.hits == 3  # the second read merged no complete hour again
    host_b = await queries.period_by_host_model(24.0, host="hostB")
    assert _as_rows(host_b) == {
        pair: row for pair, row in _as_rows(from_rows).items() if pair[0] == "hostB"
    }


async def test_a_late_request_in_a_complete_hour_shows_at_once_for_its_pair_only(
    database: Database,
) -> None:
    queries = QueryService(database.reader)
    before = await queries.summary(q.SummaryQuery())
    hits_before = queries.hour_cache.hits
    late = factories.request("shared", 60_000.0, host="vm", at=utc_now() - timedelta(hours=5))
    await _write(database, [late])  # a spool replayed after an outage, say
    after = await queries.summary(q.SummaryQuery())
    counts = {(row.host, row.model_name): row.request_count for row in after.models}
    old_counts = {(row.host, row.model_name): row.request_count for row in before.models}
    assert counts == {**old_counts, ("vm", "shared"): old_counts[("vm", "shared")] + 1}
    vm_before, vm_after = (
        next(row for row in summary.models if row.host == "vm") for summary in (before, after)
    )
    assert vm_before.response_time_mean_ms is not None
    assert vm_after.response_time_mean_ms is not None
    assert vm_after.response_time_mean_ms > vm_before.response_time_mean_ms + 700  # its 60 s
    assert queries.hour_cache.hits - hits_before == 2  # hostB's two pairs were kept


async def test_rows_removed_by_retention_leave_the_answer(database: Database) -> None:
    queries = QueryService(database.reader)
    before = await queries.summary(q.SummaryQuery(hours=30))
    await maintenance.delete_older_than(database, days_to_keep=0.25)  # keep 6 hours
    after = await queries.summary(q.SummaryQuery(hours=30))
    assert 0 < after.total_requests < before.total_requests
    assert after.total_requests == sum(
        rollup.request_count
        for rollup in fleet.combine_by_host_model(await queries.period_rollups(30.0)).values()
    )
