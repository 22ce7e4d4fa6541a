"""Every query over NATS, on known data written to a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from ollamon_core import stats, subjects
from ollamon_core.bus import Bus, QueryFailedError
from ollamon_core.events import AlertState, Event, ServiceName, Severity, utc_now
from ollamon_core.events import queries as q
from ollamon_core.events.ollama import LifecycleChange
from ollamon_storage import rows, writer
from ollamon_storage.database import Database
from ollamon_storage.service import running_storage
from ollamon_storage.settings import StorageSettings
from tests.services.storage import factories
from tests.services.storage.conftest import make_settings, wait_for_ready

PERCENTILE_TOLERANCE = 0.06  # histogram buckets grow by 10 %


@dataclass
class KnownData:
    """What was stored, to compute the expected answers from."""

    a_latencies: list[float]
    a_ttfts: list[float]
    a_tokens_per_second: list[float]
    a_errors: int
    b_count: int


def _close(actual: float | None, expected: float | None) -> bool:
    assert actual is not None and expected is not None
    return abs(actual - expected) <= PERCENTILE_TOLERANCE * expected


def _known_events() -> tuple[list[Event], KnownData]:
    now = utc_now()
    events: list[Event] = []
    latencies, ttfts, tps = [], [], []
    errors = 0
    for index in range(200):
        latency = 10.0 * (index + 1) + (index % 7) * 3.3
        ttft = 5.0 + (index % 40) * 12.5
        error = index % 10 == 0
        events.append(
            factories.request(
                "llama3.2:1b",
                latency,
                at=now - timedelta(seconds=index * 50),  # spans minutes and hours
                host="box-1" if index % 2 else "box-2",
                time_to_first_token_ms=ttft,
                tokens_per_second=20.0 + index % 5,
                error_occurred=error,
                cold_start=index < 3,
                load_duration_ms=100.0 if index < 3 else 0.0,
            )
        )
        latencies.append(latency)
        ttfts.append(ttft)
        tps.append(20.0 + index % 5)
        errors += int(error)
    for index in range(20):
        events.append(factories.request("qwen2.5:7b", 500.0 + index, at=now - timedelta(hours=2)))
    events.append(factories.request("qwen2.5:7b", 9999.0, at=now - timedelta(days=3)))
    for index in range(30):
        events.append(factories.system(at=now - timedelta(minutes=59 - index * 2), cpu=index))
    events.append(factories.system(at=now - timedelta(hours=5), cpu=99.0))
    events += [
        factories.alert(Severity.HIGH, fingerprint="f1", at=now - timedelta(minutes=30)),
        factories.alert(Severity.HIGH, fingerprint="f2", at=now - timedelta(minutes=20)),
        factories.alert(Severity.HIGH, fingerprint="f3", at=now - timedelta(minutes=10)),
        factories.alert(
            Severity.HIGH,
            fingerprint="f1",
            state=AlertState.RESOLVED,
            at=now - timedelta(minutes=5),
        ),
        factories.alert(Severity.LOW, fingerprint="f4", at=now - timedelta(minutes=4)),
        factories.score("llama3.2:1b", 6.0, at=now - timedelta(minutes=30)),
        factories.score("llama3.2:1b", 7.0, at=now - timedelta(minutes=1)),
        factories.lifecycle("llama3.2:1b", LifecycleChange.LOADED, now - timedelta(hours=1)),
        factories.lifecycle("qwen2.5:7b", LifecycleChange.EVICTED, now - timedelta(minutes=1)),
        factories.lifecycle("old", LifecycleChange.LOADED, now - timedelta(days=2)),
    ]
    known = KnownData(latencies, ttfts, tps, errors, 20)
    return events, known


async def _store(path: Path, events: list[Event]) -> None:
    database = await Database.open(path)
    try:
        await writer.write_batch(
            database, rows.group_rows((event, event.model_dump_json()) for event in events)
        )
    finally:
        await database.close()


@dataclass
class Served:
    bus: Bus
    known: KnownData
    settings: StorageSettings


@pytest.fixture
async def served(tmp_path: Path, clean_nats_url: str) -> AsyncIterator[Served]:
    settings = make_settings(tmp_path / "data", clean_nats_url)
    events, known = _known_events()
    await _store(settings.database_path, events)
    async with running_storage(settings):
        bus = await Bus.connect(clean_nats_url, ServiceName.GATEWAY)
        try:
            await wait_for_ready(settings)
            yield Served(bus, known, settings)
        finally:
            await bus.close()


async def test_model_metrics_match_values_computed_from_the_raw_requests(served: Served) -> None:
    reply = await served.bus.request(
        subjects.QUERY_MODEL_METRICS, q.ModelMetricsQuery(model_name="llama3.2:1b", recent_limit=5)
    )
    known = served.known
    summary = reply.summary
    assert summary is not None
    assert summary.request_count == len(known.a_latencies)
    assert summary.error_count == known.a_errors
    assert summary.success_rate_percent == pytest.approx(
        100.0 * (len(known.a_latencies) - known.a_errors) / len(known.a_latencies)
    )
    assert summary.host is None  # both hosts served it: the merged row
    assert [row.host for row in reply.by_host] == ["box-1", "box-2"]
    assert sum(row.request_count for row in reply.by_host) == summary.request_count
    assert summary.response_time_mean_ms == pytest.approx(stats.mean(known.a_latencies))
    for fraction, field in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        expected = stats.percentile(known.a_latencies, fraction)
        assert _close(getattr(summary, f"response_time_{field}_ms"), expected), field
        expected_ttft = stats.percentile(known.a_ttfts, fraction)
        assert _close(getattr(summary, f"time_to_first_token_{field}_ms"), expected_ttft), field
    assert summary.tokens_per_second_mean == pytest.approx(stats.mean(known.a_tokens_per_second))
    assert summary.cold_start_count == 3
    assert summary.load_duration_mean_ms == pytest.approx(300.0 / len(known.a_latencies))
    assert summary.score is None  # a score is one host's, never the merged row's
    assert [row.score for row in reply.by_host] == [7.0, None]  # box-1 was scored, box-2 not
    assert reply.latest_score is None  # several hosts: ask for one
    one = await served.bus.request(
        subjects.QUERY_MODEL_METRICS, q.ModelMetricsQuery(model_name="llama3.2:1b", host="box-1")
    )
    assert one.latest_score is not None and one.latest_score.score == 7.0
    assert one.summary is not None and one.summary.score == 7.0
    assert [event.response_time_ms for event in reply.recent] == known.a_latencies[:5]


async def test_model_metrics_of_an_unknown_model_have_no_summary(served: Served) -> None:
    reply = await served.bus.request(
        subjects.QUERY_MODEL_METRICS, q.ModelMetricsQuery(model_name="nope")
    )
    assert reply.summary is None
    assert reply.recent == []


async def test_summary_lists_models_of_the_period_alerts_and_recommendations(
    served: Served,
) -> None:
    reply = await served.bus.request(subjects.QUERY_SUMMARY, q.SummaryQuery(recent_alert_limit=3))
    by_name = {(model.model_name, model.host): model for model in reply.models}
    assert set(by_name) == {
        ("llama3.2:1b", "box-1"),
        ("llama3.2:1b", "box-2"),
        ("qwen2.5:7b", "box-1"),
    }
    # the 3-day-old request is outside 24 h
    assert by_name[("qwen2.5:7b", "box-1")].request_count == 20
    assert reply.total_requests == 220
    box_1 = reply.hosts[0]
    assert box_1.latest_system is not None and box_1.latest_system.cpu_usage_percent == 29
    assert len(reply.recent_alerts) == 3
    assert reply.recent_alerts[0].fingerprint == "f4"
    assert sorted(alert.fingerprint for alert in reply.active_alerts) == ["f2", "f3", "f4"]
    assert [rec.setting for rec in reply.recommendations] == ["OLLAMA_NUM_PARALLEL"]
    short = await served.bus.request(subjects.QUERY_SUMMARY, q.SummaryQuery(hours=1))
    assert {model.model_name for model in short.models} == {"llama3.2:1b"}
    # 72 requests lie within 3600 s (50 s apart); the period starts at its minute, so the
    # rollups may add the ones up to 60 s earlier.
    assert 72 <= sum(model.request_count for model in short.models) <= 74


async def test_system_history_is_thinned_evenly_oldest_first(served: Served) -> None:
    reply = await served.bus.request(
        subjects.QUERY_SYSTEM_HISTORY, q.SystemHistoryQuery(hours=1, limit=10)
    )
    assert reply.total_in_period == 30
    cpus = [sample.cpu_usage_percent for sample in reply.samples]
    assert len(cpus) == 10
    assert cpus[0] == 0 and cpus[-1] == 29
    assert cpus == sorted(cpus)
    everything = await served.bus.request(
        subjects.QUERY_SYSTEM_HISTORY, q.SystemHistoryQuery(hours=6, limit=2000)
    )
    assert everything.total_in_period == 31


async def test_alerts_filter_by_severity_and_list_the_active_ones(served: Served) -> None:
    reply = await served.bus.request(
        subjects.QUERY_ALERTS, q.AlertsQuery(severity=Severity.HIGH, limit=2)
    )
    assert [alert.state for alert in reply.alerts] == [AlertState.RESOLVED, AlertState.FIRING]
    assert [alert.fingerprint for alert in reply.alerts] == ["f1", "f3"]
    assert sorted(alert.fingerprint for alert in reply.active) == ["f2", "f3"]
    low = await served.bus.request(subjects.QUERY_ALERTS, q.AlertsQuery(severity=Severity.LOW))
    assert [alert.fingerprint for alert in low.alerts] == ["f4"]


async def test_trends_give_minute_and_hour_buckets(served: Served) -> None:
    minutes = await served.bus.request(
        subjects.QUERY_TRENDS, q.TrendsQuery(hours=1, model_name="llama3.2:1b")
    )
    assert sum(point.request_count for point in minutes.points) >= 72
    assert all(point.bucket_start.second == 0 for point in minutes.points)
    starts = [point.bucket_start for point in minutes.points]
    assert starts == sorted(starts)
    hours = await served.bus.request(
        subjects.QUERY_TRENDS, q.TrendsQuery(hours=6, bucket=q.TrendBucket.HOUR)
    )
    by_model: dict[str, int] = {}
    for point in hours.points:
        assert point.bucket_start.minute == 0
        by_model[point.model_name] = by_model.get(point.model_name, 0) + point.request_count
    assert by_model == {"llama3.2:1b": 200, "qwen2.5:7b": 20}


async def test_minute_trends_over_too_many_hours_are_refused_with_a_reason(
    served: Served,
) -> None:
    with pytest.raises(QueryFailedError) as raised:
        await served.bus.request(subjects.QUERY_TRENDS, q.TrendsQuery(hours=100))
    assert raised.value.error.status_code == 400
    assert "bucket=hour" in raised.value.error.error


async def test_lifecycle_lists_the_period_newest_first(served: Served) -> None:
    reply = await served.bus.request(subjects.QUERY_LIFECYCLE, q.LifecycleQuery(hours=24))
    assert [event.model_name for event in reply.events] == ["qwen2.5:7b", "llama3.2:1b"]
