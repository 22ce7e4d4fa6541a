"""The per-request rules with the default k of n: intermittent problems fire, normal requests
in between no longer cancel them, and one severe breach fires at once."""

from __future__ import annotations

import pytest

from ollamon_alerting.engine import AlertEngine
from ollamon_alerting.observations import Verdict
from ollamon_alerting.request_rules import RequestRulePolicy, request_rule_observations
from ollamon_alerting.rules import RuleName, thresholds_from_settings
from ollamon_alerting.windows import RequestSample, RequestWindow
from ollamon_core.events import AlertState, OllamaModelMetrics, OllamaPerformanceAlert, Severity
from tests.services.alerting.conftest import FakeClock, make_settings
from tests.services.alerting.factories import failed_request, request


@pytest.fixture
def engine() -> AlertEngine:
    # Defaults: 3 of the last 10 requests, 30 s pending, 60 s to resolve, severe at 2x.
    return AlertEngine(make_settings())


def context_request(percent: float) -> OllamaModelMetrics:
    return request(num_ctx=1000, tokens_input=round(percent * 10) - 10, tokens_generated=10)


def fired(alerts: list[OllamaPerformanceAlert], rule: str) -> list[OllamaPerformanceAlert]:
    return [a for a in alerts if a.alert_type == rule and a.state is AlertState.FIRING]


def test_a_single_150_percent_context_request_alerts(engine: AlertEngine, clock: FakeClock) -> None:
    alerts = engine.on_request(
        request(num_ctx=1000, tokens_input=1400, tokens_generated=100), clock()
    )
    (alert,) = fired(alerts, "context_overflow")
    assert alert.metric_value == 150.0
    assert alert.severity is Severity.CRITICAL
    assert "1 of the last 1 requests over the threshold, num_ctx=1000" in alert.message


def test_a_response_over_twice_the_threshold_fires_at_once_and_one_at_1_5x_does_not(
    engine: AlertEngine, clock: FakeClock
) -> None:
    assert engine.on_request(request(response_time_ms=45000), clock()) == []
    clock.advance(1)
    (alert,) = engine.on_request(request(model_name="other", response_time_ms=61000), clock())
    assert (alert.alert_type, alert.state) == ("slow_response", AlertState.FIRING)
    assert alert.model_name == "other"


def test_an_intermittent_full_context_among_normal_requests_fires_after_the_pending_time(
    engine: AlertEngine, clock: FakeClock
) -> None:
    # Before k of n: each normal request cancelled the pending alert, so this never fired.
    alerts: list[OllamaPerformanceAlert] = []
    for second in range(40):
        percent = 96.9 if second % 3 == 0 else 20.0
        alerts += engine.on_request(context_request(percent), clock())
        alerts += engine.tick(clock())
        if second < 30:
            assert alerts == [], f"fired after {second} s, before the pending time"
        clock.advance(1)
    (alert,) = fired(alerts, "context_overflow")
    assert alert.metric_value == pytest.approx(96.9)
    assert "4 of the last 10 requests over the threshold" in alert.message


def test_one_full_context_among_normal_requests_is_not_enough(
    engine: AlertEngine, clock: FakeClock
) -> None:
    alerts = engine.on_request(context_request(96.9), clock())
    for _ in range(60):
        clock.advance(1)
        alerts += engine.on_request(context_request(20.0), clock()) + engine.tick(clock())
    assert alerts == []


def test_a_sustained_slow_model_fires_after_the_pending_time_and_resolves_once_fast(
    engine: AlertEngine, clock: FakeClock
) -> None:
    alerts: list[OllamaPerformanceAlert] = []
    for _ in range(35):
        alerts += engine.on_request(request(response_time_ms=40000), clock()) + engine.tick(clock())
        clock.advance(1)
    (alert,) = fired(alerts, "slow_response")
    assert alert.starts_at is not None
    assert (alert.timestamp - alert.starts_at).total_seconds() == 30
    alerts = []
    for _ in range(80):  # 8 fast requests leave 2 slow of 10: below k, then 60 s to resolve
        alerts += engine.on_request(request(), clock()) + engine.tick(clock())
        clock.advance(1)
    assert [(a.alert_type, a.state) for a in alerts] == [("slow_response", AlertState.RESOLVED)]


def test_the_rules_judge_the_last_n_requests_that_succeeded(clock: FakeClock) -> None:
    window = RequestWindow(300)
    for event in (
        request(response_time_ms=40000),
        request(response_time_ms=41000),
        failed_request(response_time_ms=42000),
        request(response_time_ms=43000, cancelled=True, status_code=499),
        request(response_time_ms=800),
    ):
        window.add(RequestSample.from_event(event, clock()))
    recent = window.last_measured(clock(), 3)
    assert [sample.response_time_ms for sample in recent] == [40000, 41000, 800]
    thresholds = thresholds_from_settings(make_settings())
    policy = RequestRulePolicy(breaches=2, requests=3)
    slow, _load, context = request_rule_observations("h", "m", recent, thresholds, policy)
    assert (slow.rule, slow.verdict, slow.value) == (
        RuleName.SLOW_RESPONSE,
        Verdict.BREACH,
        41000,
    )
    assert (context.verdict, context.value) == (Verdict.CLEAR, None)  # no num_ctx known


def test_a_model_load_alert_says_whether_the_wait_was_the_queue_or_a_cold_load(
    engine: AlertEngine, clock: FakeClock
) -> None:
    queued = request(load_duration_ms=130000, queue_wait_ms=130000, cold_start=False)
    (alert,) = fired(engine.on_request(queued, clock()), "model_load")
    assert "the longest was queue wait (the model was loaded already)" in alert.message
    assert "OLLAMA_NUM_PARALLEL" in (alert.recommendation or "")
    cold = request(model_name="cold", load_duration_ms=130000, cold_load_ms=130000)
    (alert,) = fired(engine.on_request(cold, clock()), "model_load")
    assert "the longest was a cold load" in alert.message
