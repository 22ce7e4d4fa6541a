"""The engine over event models with a fake clock: every rule, thresholds, scores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ollamon_alerting.engine import AlertEngine
from ollamon_alerting.management import ThresholdChange
from ollamon_alerting.rules import RuleName, ThresholdRejectedError, UnknownRuleError
from ollamon_alerting.silences import SilenceRejectedError
from ollamon_core.events import (
    AlertState,
    BackendKind,
    GpuSample,
    Heartbeat,
    LifecycleChange,
    LoadedModel,
    ModelLifecycleEvent,
    OllamaHealth,
    OllamaModelsSnapshot,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    ServiceName,
    Severity,
    Silence,
    ThresholdUpdate,
    utc_now,
)
from tests.services.alerting.conftest import START, FakeClock, make_settings
from tests.services.alerting.factories import HOST, MODEL, failed_request, request


@pytest.fixture
def engine() -> AlertEngine:
    # One request decides a per-request rule here (1 of 1); test_request_rules.py has k of n.
    return AlertEngine(
        make_settings(
            for_seconds=0,
            resolve_seconds=0,
            min_requests=5,
            baseline_min_samples=5,
            request_rule_breaches=1,
            request_rule_requests=1,
        )
    )


def set_threshold(engine: AlertEngine, rule: str, threshold: float) -> RuleName:
    update = ThresholdUpdate(rule=rule, threshold=threshold)
    return engine.controls.set_threshold(update, START)[0]


def kinds(alerts: list[OllamaPerformanceAlert]) -> list[tuple[str, AlertState]]:
    return [(alert.alert_type, alert.state) for alert in alerts]


def test_a_slow_request_fires_and_a_fast_one_resolves(
    engine: AlertEngine, clock: FakeClock
) -> None:
    (firing,) = engine.on_request(request(response_time_ms=45000), clock())
    assert firing.alert_type == "slow_response"
    assert firing.severity is Severity.MEDIUM
    assert firing.model_name == MODEL
    assert firing.host == HOST
    assert firing.metric_value == 45000
    assert firing.threshold == 30000
    assert firing.fingerprint
    assert firing.recommendation
    assert "45000 ms" in firing.message
    clock.advance(1)
    (resolved,) = engine.on_request(request(), clock())
    assert resolved.state is AlertState.RESOLVED
    assert resolved.fingerprint == firing.fingerprint
    assert resolved.starts_at == firing.starts_at
    assert resolved.ends_at == clock()


def test_a_failing_model_fires_low_success_rate_once_enough_requests_failed(
    engine: AlertEngine, clock: FakeClock
) -> None:
    alerts = []
    for _ in range(4):
        alerts += engine.on_request(failed_request(status_code=503), clock())
    assert alerts == []  # fewer than min_requests
    (firing,) = engine.on_request(failed_request(status_code=503), clock())
    assert (firing.alert_type, firing.severity) == ("low_success_rate", Severity.CRITICAL)
    assert "OLLAMA_NUM_PARALLEL" in (firing.recommendation or "")
    alerts = []
    for _ in range(60):  # 5 failed of 65 is 7.7 %, below the resolve level of 9 %
        alerts += engine.on_request(request(), clock())
    assert kinds(alerts) == [("low_success_rate", AlertState.RESOLVED)]


def test_the_window_slides_so_old_failures_age_out(engine: AlertEngine, clock: FakeClock) -> None:
    for _ in range(5):
        engine.on_request(failed_request(), clock())
    clock.advance(301)
    assert kinds(engine.tick(clock())) == [("low_success_rate", AlertState.RESOLVED)]
    assert engine.windows == {}


def test_slow_loads_and_full_contexts_fire_their_rules(
    engine: AlertEngine, clock: FakeClock
) -> None:
    alerts = engine.on_request(
        request(load_duration_ms=70000, num_ctx=2048, tokens_input=1900, tokens_generated=100),
        clock(),
    )
    assert {alert.alert_type for alert in alerts} == {"model_load", "context_overflow"}
    context = next(alert for alert in alerts if alert.alert_type == "context_overflow")
    assert "num_ctx" in (context.recommendation or "")
    load = next(alert for alert in alerts if alert.alert_type == "model_load")
    assert "OLLAMA_KEEP_ALIVE" in (load.recommendation or "")


def test_ttft_p95_over_its_threshold_fires(engine: AlertEngine, clock: FakeClock) -> None:
    alerts = []
    for _ in range(5):
        alerts += engine.on_request(request(time_to_first_token_ms=15000), clock())
    assert kinds(alerts) == [("ttft_p95", AlertState.FIRING)]


def snapshot(digest: str, size_vram: int = 1000) -> OllamaModelsSnapshot:
    return OllamaModelsSnapshot(
        host=HOST,
        ollama_url="http://127.0.0.1:11434",
        loaded=[LoadedModel(name=MODEL, digest=digest, size_bytes=1000, size_vram_bytes=size_vram)],
    )


def test_tokens_per_second_regression_is_measured_against_the_models_own_baseline(
    engine: AlertEngine, clock: FakeClock
) -> None:
    engine.on_models(snapshot("sha-a"), clock())
    for _ in range(5):
        assert engine.on_request(request(tokens_per_second=50.0), clock()) == []
    assert engine.baselines.baseline(HOST, MODEL) == 50.0
    clock.advance(301)  # the learning requests leave the window
    alerts = []
    for _ in range(5):
        alerts += engine.on_request(request(tokens_per_second=25.0), clock())
    (firing,) = alerts
    assert firing.alert_type == "tokens_per_second_regression"
    assert firing.metric_value == 50.0
    assert "baseline of 50.0" in firing.message


def test_a_new_digest_learns_its_own_baseline(engine: AlertEngine, clock: FakeClock) -> None:
    engine.on_models(snapshot("sha-a"), clock())
    for _ in range(5):
        engine.on_request(request(tokens_per_second=50.0), clock())
    engine.on_models(snapshot("sha-b"), clock())
    assert engine.baselines.baseline(HOST, MODEL) is None


def test_partial_offload_fires_from_snapshots_and_clears_when_unloaded(
    engine: AlertEngine, clock: FakeClock
) -> None:
    (firing,) = engine.on_models(snapshot("sha-a", size_vram=600), clock())
    assert (firing.alert_type, firing.metric_value) == ("partial_offload", 40.0)
    assert "OLLAMA_MAX_LOADED_MODELS" in (firing.recommendation or "")
    empty = OllamaModelsSnapshot(host=HOST, ollama_url="http://127.0.0.1:11434")
    assert kinds(engine.on_models(empty, clock())) == [("partial_offload", AlertState.RESOLVED)]


def test_a_lifecycle_load_reports_offload(engine: AlertEngine, clock: FakeClock) -> None:
    event = ModelLifecycleEvent(
        host=HOST,
        ollama_url="u",
        model_name=MODEL,
        change=LifecycleChange.LOADED,
        size_bytes=1000,
        size_vram_bytes=100,
    )
    assert kinds(engine.on_lifecycle(event, clock())) == [("partial_offload", AlertState.FIRING)]


def system(**overrides: float) -> OllamaSystemMetrics:
    values: dict[str, object] = {
        "host": HOST,
        "cpu_usage_percent": 10.0,
        "memory_usage_percent": 50.0,
        "memory_available_gb": 8.0,
        "disk_usage_percent": 40.0,
        "gpu_usage_percent": 20.0,
    } | overrides
    return OllamaSystemMetrics.model_validate(values)


def test_host_rules_fire_on_their_seed_thresholds(engine: AlertEngine, clock: FakeClock) -> None:
    assert (
        engine.on_system(system(cpu_usage_percent=97.9, memory_usage_percent=95.0), clock()) == []
    )
    alerts = engine.on_system(
        system(
            cpu_usage_percent=99.0,
            memory_usage_percent=96.0,
            gpu_usage_percent=99.0,
            disk_usage_percent=91.0,
        ),
        clock(),
    )
    assert sorted(alert.alert_type for alert in alerts) == [
        "disk_space",
        "high_cpu",
        "high_gpu",
        "high_memory",
    ]
    assert all(alert.model_name is None for alert in alerts)


def test_ollama_unreachable_is_critical_and_inhibits_request_alerts(
    engine: AlertEngine, clock: FakeClock
) -> None:
    down = OllamaHealth(host=HOST, ollama_url="http://x", up=False, error_message="refused")
    (firing,) = engine.on_health(down, clock())
    assert (firing.alert_type, firing.severity) == ("ollama_unreachable", Severity.CRITICAL)
    alerts = []
    for _ in range(5):
        alerts += engine.on_request(failed_request(), clock())
    assert alerts == []


def test_a_live_llama_cpp_server_raises_no_unreachable_alert_and_a_dead_one_names_its_kind(
    engine: AlertEngine, clock: FakeClock
) -> None:
    live = OllamaHealth(
        host=HOST, ollama_url="http://x:8080", up=True, backend=BackendKind.LLAMA_CPP
    )
    assert engine.on_health(live, clock()) == []
    down = live.model_copy(update={"up": False, "error_message": "ConnectError: refused"})
    (firing,) = engine.on_health(down, clock())
    assert firing.alert_type == "ollama_unreachable"
    assert firing.message.endswith("; llama.cpp server at http://x:8080: ConnectError: refused")


def test_a_threshold_update_changes_when_a_rule_fires(
    engine: AlertEngine, clock: FakeClock
) -> None:
    assert set_threshold(engine, "response_time_ms", 1000) is (RuleName.SLOW_RESPONSE)
    (firing,) = engine.on_request(request(response_time_ms=1500), clock())
    assert firing.threshold == 1000
    with pytest.raises(UnknownRuleError):
        set_threshold(engine, "nope", 1)


@pytest.mark.parametrize(
    ("rule", "threshold", "reason"),
    [
        ("high_cpu", 150, "must be > 0 and <= 100"),
        ("cpu_usage_percent", 0, "must be > 0 and <= 100"),
        ("partial_offload", 100, "must be >= 0 and < 100"),
        ("tokens_per_second_regression", 101, "must be > 0 and <= 100"),
        ("model_load_time_ms", 0, "must be > 0"),
        ("ollama_unreachable", 1, "has no threshold to set"),
    ],
)
def test_a_threshold_outside_its_rules_range_is_refused_and_the_old_one_stays(
    engine: AlertEngine, rule: str, threshold: float, reason: str
) -> None:
    before = dict(engine.thresholds)
    with pytest.raises(ThresholdRejectedError, match=reason):
        set_threshold(engine, rule, threshold)
    assert engine.thresholds == before


def test_thresholds_at_the_edges_of_their_range_are_taken(engine: AlertEngine) -> None:
    set_threshold(engine, "high_cpu", 100)
    set_threshold(engine, "partial_offload", 0)
    set_threshold(engine, "slow_response", 86_400_000)
    assert engine.thresholds[RuleName.HIGH_CPU] == 100
    assert engine.thresholds[RuleName.PARTIAL_OFFLOAD] == 0
    assert engine.thresholds[RuleName.SLOW_RESPONSE] == 86_400_000


def test_a_silence_longer_than_thirty_days_from_now_is_refused(
    engine: AlertEngine, clock: FakeClock
) -> None:
    # The sender's timestamp is its own: a forged one passes the event's check, not this one.
    expires = clock() + timedelta(days=400)
    silence = Silence(silence_id="s", timestamp=expires - timedelta(days=1), expires_at=expires)
    with pytest.raises(SilenceRejectedError, match="more than 30 days from now"):
        engine.controls.add_silence(silence, clock())
    assert engine.silences.silences == {}
    month = Silence(silence_id="m", timestamp=clock(), expires_at=clock() + timedelta(days=30))
    assert engine.controls.add_silence(month, clock())[1]


def test_restore_refuses_what_a_live_command_would_be_refused(
    engine: AlertEngine, clock: FakeClock
) -> None:
    far = clock() + timedelta(days=400)
    forged = Silence(silence_id="far", timestamp=far - timedelta(days=1), expires_at=far)
    fine = Silence(silence_id="near", timestamp=clock(), expires_at=clock() + timedelta(hours=1))
    thresholds = {
        RuleName.HIGH_CPU: ThresholdChange(threshold=float("nan")),
        RuleName.SLOW_RESPONSE: ThresholdChange(threshold=1e308),
        RuleName.HIGH_GPU: ThresholdChange(threshold=80.0),
    }
    refused = engine.restore([], [forged, fine], clock(), thresholds)
    assert refused == ([forged], [RuleName.HIGH_CPU, RuleName.SLOW_RESPONSE])
    assert set(engine.silences.silences) == {"near"}
    assert engine.thresholds[RuleName.HIGH_CPU] == 98.0
    assert engine.thresholds[RuleName.SLOW_RESPONSE] == 30000.0
    assert engine.thresholds[RuleName.HIGH_GPU] == 80.0


def test_scores_cover_every_model_with_recent_requests(
    engine: AlertEngine, clock: FakeClock
) -> None:
    for _ in range(3):
        engine.on_request(request(load_duration_ms=2000), clock())
    engine.on_request(request(model_name="qwen2:0.5b"), clock())
    scores = {score.model_name: score for score in engine.scores(clock())}
    assert set(scores) == {MODEL, "qwen2:0.5b"}
    llama = scores[MODEL]
    assert llama.host == HOST
    assert llama.request_count == 3
    assert 0 < llama.score < 10
    assert llama.components["load"] < 1
    assert [r.setting for r in llama.recommendations] == ["OLLAMA_KEEP_ALIVE / keep_alive"]
    assert scores["qwen2:0.5b"].recommendations == []


def spool_heartbeat(service: ServiceName, oldest_seconds: float, events: float) -> Heartbeat:
    counters = {"spool_events": events, "spool_oldest_age_seconds": oldest_seconds}
    return Heartbeat(
        host=HOST, service=service, version="1", pid=1, started_at=utc_now(), counters=counters
    )


def test_telemetry_backlog_fires_while_a_spool_holds_old_events_and_resolves_once_drained(
    engine: AlertEngine, clock: FakeClock
) -> None:
    assert engine.on_heartbeat(spool_heartbeat(ServiceName.PROBE, 5, 40), clock()) == []
    no_spool = Heartbeat(
        host=HOST, service=ServiceName.STORAGE, version="1", pid=1, started_at=utc_now()
    )
    assert engine.on_heartbeat(no_spool, clock()) == []
    clock.advance(5)
    (firing,) = engine.on_heartbeat(spool_heartbeat(ServiceName.PROBE, 75, 900), clock())
    assert firing.alert_type == "telemetry_backlog"
    assert firing.state is AlertState.FIRING
    assert firing.metric_value == 75 and firing.threshold == 60
    assert firing.model_name is None and firing.host == HOST
    assert "probe: 900 events, oldest 75 s" in firing.message
    assert firing.recommendation
    clock.advance(5)  # the collector's empty spool does not hide the probe's
    assert engine.on_heartbeat(spool_heartbeat(ServiceName.COLLECTOR, 0, 0), clock()) == []
    clock.advance(5)
    (resolved,) = engine.on_heartbeat(spool_heartbeat(ServiceName.PROBE, 0, 0), clock())
    assert resolved.state is AlertState.RESOLVED
    assert resolved.fingerprint == firing.fingerprint


def test_two_hosts_get_their_own_scores_baselines_windows_and_alerts(
    engine: AlertEngine, clock: FakeClock
) -> None:
    for _ in range(5):
        engine.on_request(request(host="gpu-a", tokens_per_second=90.0), clock())
        engine.on_request(request(host="gpu-b", tokens_per_second=30.0), clock())
    assert set(engine.windows) == {("gpu-a", MODEL), ("gpu-b", MODEL)}
    assert engine.baselines.baseline("gpu-a", MODEL) == 90.0
    assert engine.baselines.baseline("gpu-b", MODEL) == 30.0
    scores = {score.host: score for score in engine.scores(clock())}
    assert set(scores) == {"gpu-a", "gpu-b"}
    assert scores["gpu-a"].tokens_per_second_baseline == 90.0
    assert scores["gpu-b"].tokens_per_second_baseline == 30.0
    assert {score.request_count for score in scores.values()} == {5}
    alerts = engine.on_request(request(host="gpu-a", response_time_ms=45000), clock())
    alerts += engine.on_request(request(host="gpu-b", response_time_ms=45000), clock())
    assert [alert.host for alert in alerts] == ["gpu-a", "gpu-b"]
    assert len({alert.fingerprint for alert in alerts}) == 2


def gpu_system(used_gib: float, utilization: float = 10.0) -> OllamaSystemMetrics:
    gpu = GpuSample(
        index=0,
        name="H200",
        utilization_percent=utilization,
        memory_used_bytes=round(used_gib * 2**30),
        memory_total_bytes=100 * 2**30,
    )
    return system(gpu_usage_percent=utilization).model_copy(update={"gpus": [gpu]})


def test_vram_full_fires_at_its_threshold_apart_from_gpu_utilisation(
    engine: AlertEngine, clock: FakeClock
) -> None:
    assert engine.on_system(gpu_system(used_gib=94.9), clock()) == []
    (full,) = engine.on_system(gpu_system(used_gib=95.0), clock())  # at the threshold
    assert (full.alert_type, full.metric_value, full.threshold) == ("vram_full", 95.0, 95.0)
    assert "GPU 0 (H200): 95.0 of 100.0 GiB in use" in full.message
    assert full.model_name is None
    assert "OLLAMA_KV_CACHE_TYPE" in (full.recommendation or "")
    busy = engine.on_system(gpu_system(used_gib=50.0, utilization=99.0), clock())
    assert sorted((a.alert_type, a.state) for a in busy) == [
        ("high_gpu", AlertState.FIRING),
        ("vram_full", AlertState.RESOLVED),
    ]
