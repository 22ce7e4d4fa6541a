"""Two hosts (`vm` and `hostB`) in one real SQLite file: every query keeps them apart.

The repro of issue 14: with a second probe labelled `hostB`, the summary and the model
metrics merged both hosts into one row, the score was the newest from any host,
`latest_system` was whichever host reported last and `?host=` was ignored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ollamon_core import subjects
from ollamon_core.bus import Bus, QueryFailedError
from ollamon_core.events import (
    ServiceName,
    utc_now,
)
from ollamon_core.events import queries as q
from ollamon_storage import maintenance, rows, writer
from ollamon_storage.database import Database
from ollamon_storage.service import running_storage
from tests.services.storage import factories
from tests.services.storage.conftest import make_settings, wait_for_ready
from tests.support.two_hosts import (
    HOST_B_URL,
    MODEL,
    VM_URL,
    store_events,
    two_host_events,
)


@dataclass
class Fleet:
    bus: Bus
    database_path: Path


@pytest.fixture
async def fleet(tmp_path: Path, clean_nats_url: str) -> AsyncIterator[Fleet]:
    settings = make_settings(tmp_path / "data", clean_nats_url)
    await store_events(settings.database_path, two_host_events())
    async with running_storage(settings):
        bus = await Bus.connect(clean_nats_url, ServiceName.GATEWAY)
        try:
            await wait_for_ready(settings)
            yield Fleet(bus, settings.database_path)
        finally:
            await bus.close()


async def test_the_summary_has_one_row_per_host_and_model_each_with_its_own_score(
    fleet: Fleet,
) -> None:
    reply = await fleet.bus.request(subjects.QUERY_SUMMARY, q.SummaryQuery())
    rows_by_key = {(model.model_name, model.host): model for model in reply.models}
    assert list(rows_by_key) == [(MODEL, "hostB"), (MODEL, "vm"), ("qwen2.5:7b", "hostB")]
    assert rows_by_key[(MODEL, "vm")].request_count == 30
    assert rows_by_key[(MODEL, "hostB")].request_count == 10
    assert rows_by_key[(MODEL, "hostB")].error_count == 2
    # Before: one row, score 3.0 (hostB's, the newest of any host) for both.
    assert rows_by_key[(MODEL, "vm")].score == 8.0
    assert rows_by_key[(MODEL, "hostB")].score == 3.0
    assert rows_by_key[("qwen2.5:7b", "hostB")].score is None
    assert reply.total_requests == 41


async def test_each_host_has_its_own_latest_system_sample_and_ollama_state(
    fleet: Fleet,
) -> None:
    reply = await fleet.bus.request(subjects.QUERY_SUMMARY, q.SummaryQuery())
    hosts = {host.host: host for host in reply.hosts}
    assert list(hosts) == ["hostB", "vm"]
    vm, host_b = hosts["vm"], hosts["hostB"]
    assert vm.latest_system is not None and vm.latest_system.memory_usage_percent == 11.0
    assert host_b.latest_system is not None and host_b.latest_system.memory_usage_percent == 50.0
    assert [(health.ollama_url, health.up) for health in vm.ollama] == [(VM_URL, True)]
    assert [(health.ollama_url, health.up) for health in host_b.ollama] == [(HOST_B_URL, False)]
    assert (vm.ollama_up, host_b.ollama_up) == (True, False)
    assert (vm.request_count, vm.error_count, vm.model_count) == (30, 0, 1)
    assert (host_b.request_count, host_b.error_count, host_b.model_count) == (11, 2, 2)
    assert (vm.active_alert_count, host_b.active_alert_count) == (0, 1)
    assert vm.reporting and host_b.reporting
    assert host_b.first_seen < host_b.last_seen
    # Before: `latest_system` was hostB's (it reported last) under no host name at all.
    assert reply.latest_system is None
    assert reply.fleet == q.FleetRollup(
        host_count=2,
        hosts_reporting=2,
        hosts_with_gpu=0,
        hosts_ollama_down=1,
        model_count=2,
        total_requests=41,
        total_errors=2,
        active_alerts=1,
    )


async def test_a_host_filter_keeps_one_hosts_summary(fleet: Fleet) -> None:
    reply = await fleet.bus.request(subjects.QUERY_SUMMARY, q.SummaryQuery(host="vm"))
    assert reply.host == "vm"
    assert [(model.model_name, model.host, model.score) for model in reply.models] == [
        (MODEL, "vm", 8.0)
    ]
    assert [host.host for host in reply.hosts] == ["vm"]
    assert reply.latest_system is not None and reply.latest_system.host == "vm"
    assert reply.latest_system.memory_usage_percent == 11.0
    assert reply.active_alerts == []
    assert [alert.host for alert in reply.recent_alerts] == ["vm"]
    assert reply.fleet.host_count == 1 and reply.fleet.total_requests == 30


async def test_model_metrics_give_each_host_apart_and_one_host_on_request(fleet: Fleet) -> None:
    everything = await fleet.bus.request(
        subjects.QUERY_MODEL_METRICS, q.ModelMetricsQuery(model_name=MODEL)
    )
    assert [(row.host, row.request_count, row.score) for row in everything.by_host] == [
        ("hostB", 10, 3.0),
        ("vm", 30, 8.0),
    ]
    assert everything.summary is not None and everything.summary.host is None
    assert everything.summary.request_count == 40 and everything.summary.score is None
    assert everything.latest_score is None
    vm = await fleet.bus.request(
        subjects.QUERY_MODEL_METRICS, q.ModelMetricsQuery(model_name=MODEL, host="vm")
    )
    assert vm.summary is not None and vm.summary.host == "vm"
    assert vm.summary.request_count == 30 and vm.summary.score == 8.0
    assert vm.latest_score is not None and vm.latest_score.host == "vm"
    assert {event.host for event in vm.recent} == {"vm"}


async def test_system_history_of_one_host_never_holds_the_others_samples(fleet: Fleet) -> None:
    host_b = await fleet.bus.request(
        subjects.QUERY_SYSTEM_HISTORY, q.SystemHistoryQuery(host="hostB")
    )
    assert {sample.memory_usage_percent for sample in host_b.samples} == {50.0}
    assert host_b.total_in_period == 20
    both = await fleet.bus.request(subjects.QUERY_SYSTEM_HISTORY, q.SystemHistoryQuery(limit=10))
    per_host: dict[str, int] = {}
    for sample in both.samples:
        per_host[sample.host] = per_host.get(sample.host, 0) + 1
    assert per_host == {"vm": 5, "hostB": 5}  # each host thinned to its share of the limit
    stamps = [sample.timestamp for sample in both.samples]
    assert stamps == sorted(stamps)


async def test_alerts_trends_and_lifecycle_filter_by_host(fleet: Fleet) -> None:
    alerts = await fleet.bus.request(subjects.QUERY_ALERTS, q.AlertsQuery(host="vm"))
    assert [alert.host for alert in alerts.alerts] == ["vm"] and alerts.active == []
    every_alert = await fleet.bus.request(subjects.QUERY_ALERTS, q.AlertsQuery())
    assert [alert.fingerprint for alert in every_alert.active] == ["slow|hostB"]
    trends = await fleet.bus.request(
        subjects.QUERY_TRENDS, q.TrendsQuery(hours=1, model_name=MODEL)
    )
    counted: dict[str, int] = {}
    for point in trends.points:
        counted[point.host] = counted.get(point.host, 0) + point.request_count
    assert counted == {"vm": 30, "hostB": 10}  # one series per host, never merged
    one = await fleet.bus.request(
        subjects.QUERY_TRENDS, q.TrendsQuery(hours=1, model_name=MODEL, host="hostB")
    )
    assert {point.host for point in one.points} == {"hostB"}
    assert sum(point.request_count for point in one.points) == 10
    assert (
        await fleet.bus.request(subjects.QUERY_LIFECYCLE, q.LifecycleQuery(host="vm"))
    ).events == []
    host_b = await fleet.bus.request(subjects.QUERY_LIFECYCLE, q.LifecycleQuery(host="hostB"))
    assert [event.host for event in host_b.events] == ["hostB"]


@pytest.mark.parametrize(
    ("route", "query"),
    [
        (subjects.QUERY_SUMMARY, q.SummaryQuery(host="nohost")),
        (subjects.QUERY_MODEL_METRICS, q.ModelMetricsQuery(model_name=MODEL, host="nohost")),
        (subjects.QUERY_SYSTEM_HISTORY, q.SystemHistoryQuery(host="nohost")),
        (subjects.QUERY_ALERTS, q.AlertsQuery(host="nohost")),
        (subjects.QUERY_TRENDS, q.TrendsQuery(host="nohost")),
        (subjects.QUERY_LIFECYCLE, q.LifecycleQuery(host="nohost")),
    ],
)
async def test_an_unknown_host_is_a_404_naming_it(fleet: Fleet, route: Any, query: Any) -> None:
    with pytest.raises(QueryFailedError) as raised:
        await fleet.bus.request(route, query)
    assert raised.value.error.status_code == 404
    assert "'nohost'" in raised.value.error.error


async def test_ingest_records_each_hosts_first_and_last_event_and_retention_forgets_it(
    tmp_path: Path,
) -> None:
    database = await Database.open(tmp_path / "ollamon.db")
    try:
        old = factories.system(at=utc_now() - timedelta(days=10), host="gone")
        await writer.write_batch(database, rows.group_rows([(old, old.model_dump_json())]))
        now = utc_now()
        for minutes in (5, 1, 9):  # out of order, in separate batches
            event = factories.request(host="vm", at=now - timedelta(minutes=minutes))
            await writer.write_batch(database, rows.group_rows([(event, event.model_dump_json())]))
        async with database.reader.execute(
            "SELECT host, last_seen_ms - first_seen_ms FROM hosts ORDER BY host"
        ) as cursor:
            assert await cursor.fetchall() == [("gone", 0), ("vm", 8 * 60_000)]
        deleted = await maintenance.delete_older_than(database, days_to_keep=7)
        assert deleted["hosts"] == 1
        async with database.reader.execute("SELECT host FROM hosts") as cursor:
            assert await cursor.fetchall() == [("vm",)]
    finally:
        await database.close()
