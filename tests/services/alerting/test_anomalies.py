"""The anomaly book: which requests are judged and learned, the rule's value and evidence,
kept baselines, bounded memory."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

import pytest

from ollamon_alerting import anomalies
from ollamon_alerting.anomalies import AnomalyBook, AnomalyPolicy, AnomalySnapshot
from ollamon_alerting.engine import AlertEngine
from ollamon_alerting.rules import RuleName, ThresholdRejectedError, check_threshold, resolve_rule
from ollamon_alerting.windows import RequestSample
from ollamon_core.events import OllamaModelMetrics, RequestSource
from ollamon_core.insights.anomaly import BaselinePolicy
from tests.services.alerting.conftest import START, FakeClock, make_settings
from tests.services.alerting.factories import HOST, MODEL, request

THRESHOLD = 4.0
POLICY = AnomalyPolicy(BaselinePolicy(min_samples=30, learn_spacing_seconds=60))


def feed(
    book: AnomalyBook,
    count: int,
    start: datetime = START,
    spacing: float = 60.0,
    digest: str = "sha256:a",
    seed: int = 1,
    **overrides: object,
) -> datetime:
    """`count` requests of about 800 ms, 120 ms TTFT and 50 tokens/s (5 % noise); returns
    the time of the last."""
    rng = random.Random(seed)
    at = start
    for index in range(count):
        at = start + timedelta(seconds=index * spacing)
        noise = rng.uniform(0.95, 1.05)
        values: dict[str, object] = {
            "response_time_ms": 800.0 * noise,
            "time_to_first_token_ms": 120.0 * noise,
            "tokens_per_second": 50.0 / noise,
        } | overrides
        event = request(**values)
        book.observe(event, RequestSample.from_event(event, at), digest)
    return at


def test_nothing_is_judged_while_the_baseline_learns() -> None:
    book = AnomalyBook(POLICY)
    at = feed(book, 29)
    observation = book.observation(HOST, MODEL, "sha256:a", at, THRESHOLD)
    assert observation.rule is RuleName.PERFORMANCE_ANOMALY
    assert observation.value is None


def test_a_latency_step_is_over_the_threshold_with_its_evidence() -> None:
    book = AnomalyBook(POLICY)
    at = feed(book, 60)
    at = feed(book, 5, start=at + timedelta(seconds=60), response_time_ms=1600.0)
    observation = book.observation(HOST, MODEL, "sha256:a", at, THRESHOLD)
    assert observation.value is not None
    assert observation.value > THRESHOLD
    evidence = observation.evidence
    assert evidence is not None
    assert evidence.metric == "latency_ms"
    assert evidence.unit == "ms"
    assert evidence.observed == 1600.0
    assert evidence.expected == pytest.approx(800, rel=0.05)
    assert evidence.band_low < evidence.expected < evidence.band_high < 1600
    assert (evidence.outside, evidence.judged) == (5, 10)
    assert evidence.baseline == "overall"  # hour 13 has learned nothing yet
    assert "latency_ms 1600 ms, expected" in observation.detail
    assert "5 of the last 10 requests outside" in observation.detail
    assert book.outside_share(HOST, MODEL, "sha256:a", at, THRESHOLD) == 0.5


def test_a_normal_series_stays_under_the_threshold() -> None:
    book = AnomalyBook(POLICY)
    at = feed(book, 200)
    observation = book.observation(HOST, MODEL, "sha256:a", at, THRESHOLD)
    assert observation.value is not None
    assert observation.value < THRESHOLD
    assert observation.evidence is None  # built for a breach only
    assert book.outside_share(HOST, MODEL, "sha256:a", at, THRESHOLD) == 0.0


def test_a_tokens_per_second_drop_is_judged_lower_is_worse() -> None:
    book = AnomalyBook(POLICY)
    at = feed(book, 60)
    at = feed(book, 4, start=at + timedelta(seconds=60), tokens_per_second=25.0)
    observation = book.observation(HOST, MODEL, "sha256:a", at, THRESHOLD)
    assert observation.evidence is not None
    assert observation.evidence.metric == "tokens_per_second"
    assert observation.evidence.observed == 25.0


@pytest.mark.parametrize(
    "overrides",
    [
        {"benchmark_run_id": "run-1"},
        {"source": RequestSource.LOG},
        {"cancelled": True},
        {"error_occurred": True, "status_code": 500},
        {"model_unknown": True},
    ],
    ids=["benchmark", "log only", "cancelled", "failed", "unknown model"],
)
def test_requests_that_are_not_real_measured_traffic_are_neither_judged_nor_learned(
    overrides: dict[str, Any],
) -> None:
    book = AnomalyBook(POLICY)
    feed(book, 40, response_time_ms=9000.0, **overrides)
    assert book.detectors == {}
    at = feed(book, 60, start=START + timedelta(hours=1))
    feed(book, 5, start=at + timedelta(seconds=60), response_time_ms=9000.0, **overrides)
    observation = book.observation(HOST, MODEL, "sha256:a", at, THRESHOLD)
    assert observation.value is not None
    assert observation.value < THRESHOLD


def test_a_cold_start_is_no_latency_or_ttft_anomaly_but_its_tokens_per_second_count() -> None:
    book = AnomalyBook(POLICY)
    at = feed(book, 60)
    at = feed(
        book,
        5,
        start=at + timedelta(seconds=60),
        response_time_ms=9000.0,
        time_to_first_token_ms=8000.0,
        load_duration_ms=7000.0,
        cold_start=True,
    )
    observation = book.observation(HOST, MODEL, "sha256:a", at, THRESHOLD)
    assert observation.value is not None
    assert observation.value < THRESHOLD


def test_the_metrics_of_a_request() -> None:
    event: OllamaModelMetrics = request(time_to_first_token_ms=None)
    values = anomalies.metric_values(RequestSample.from_event(event, START))
    assert values == {"latency_ms": 800.0, "tokens_per_second": 50.0}


def test_kept_baselines_judge_the_same_after_a_restart() -> None:
    book = AnomalyBook(POLICY)
    at = feed(book, 60)
    assert book.take_changes() == [(HOST, MODEL)]
    assert book.take_changes() == []
    raw = book.snapshot(HOST, MODEL).model_dump_json()
    restored = AnomalyBook(POLICY)
    restored.restore(AnomalySnapshot.model_validate_json(raw))
    later = at + timedelta(seconds=60)
    for kept in (book, restored):
        feed(kept, 5, start=later, response_time_ms=1600.0)
    before = book.observation(HOST, MODEL, "sha256:a", later, THRESHOLD)
    after = restored.observation(HOST, MODEL, "sha256:a", later, THRESHOLD)
    assert after.value == pytest.approx(before.value, rel=1e-3)
    assert after.evidence is not None
    assert after.evidence.outside == 5


def test_memory_is_bounded_by_digests_per_model_and_baselines_in_all() -> None:
    book = AnomalyBook(POLICY)
    for index in range(anomalies.MAX_DIGESTS + 2):
        feed(book, 1, digest=f"sha256:{index}")
    assert [key[2] for key in book.detectors] == [
        f"sha256:{index}" for index in range(2, anomalies.MAX_DIGESTS + 2)
    ]
    for index in range(anomalies.MAX_BASELINES + 5):
        feed(book, 1, model_name=f"model-{index}")
    assert len(book.detectors) == anomalies.MAX_BASELINES
    assert (HOST, "model-0", "sha256:a") not in book.detectors
    assert (HOST, "model-0") in book.take_changes()  # written without it: purged


def test_its_threshold_is_editable_within_the_settings_bounds() -> None:
    check_threshold(RuleName.PERFORMANCE_ANOMALY, 3.0)
    assert resolve_rule("anomaly_deviations") is RuleName.PERFORMANCE_ANOMALY
    for refused in (0.0, 101.0, math.inf):
        with pytest.raises(ThresholdRejectedError):
            check_threshold(RuleName.PERFORMANCE_ANOMALY, refused)


def test_the_engine_scores_consistency_once_a_baseline_judges(clock: FakeClock) -> None:
    engine = AlertEngine(make_settings(for_seconds=0, resolve_seconds=0))
    for index in range(40):
        engine.on_request(request(response_time_ms=800.0 + index % 3), clock.advance(60))
    (score,) = engine.scores(clock())
    assert score.components["consistency"] == 1.0
    alerts = []
    for _ in range(3):
        alerts += engine.on_request(request(response_time_ms=4000.0), clock.advance(60))
    (score,) = engine.scores(clock())
    assert score.components["consistency"] == 0.5  # 3 of the last 10 outside: k of n
    assert [(alert.alert_type, alert.evidence is not None) for alert in alerts] == [
        ("performance_anomaly", True)
    ]
