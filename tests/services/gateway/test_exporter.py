"""Prometheus metrics follow the live events (pure, no I/O)."""

from __future__ import annotations

from ollamon_core.events import (
    AlertState,
    Heartbeat,
    ModelScore,
    OllamaHealth,
    OllamaModelMetrics,
    ServiceName,
    utc_now,
)
from ollamon_gateway.exporter import MetricsExporter
from tests.services.gateway.stubs import MODEL_WITH_NAMESPACE, firing_alert, system_sample

PROXY = 'source="proxy"'


def sample_value(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample starting with {line_start!r} in:\n{text}")


def render(exporter: MetricsExporter) -> str:
    return exporter.render(sse_clients=2, sse_dropped=5).decode()


def test_requests_count_by_outcome_with_latency_and_ttft_histograms() -> None:
    exporter = MetricsExporter()
    for response_time_ms, failed in ((800.0, False), (1200.0, False), (90_000.0, True)):
        exporter.observe(
            OllamaModelMetrics(
                host="h",
                model_name=MODEL_WITH_NAMESPACE,
                response_time_ms=response_time_ms,
                time_to_first_token_ms=120.0,
                tokens_per_second=41.5,
                tokens_generated=10,
                error_occurred=failed,
            )
        )
    text = render(exporter)
    labels = f'model="{MODEL_WITH_NAMESPACE}"'
    assert (
        sample_value(
            text, f'ollamon_requests_total{{host="h",{labels},outcome="success",source="proxy"}}'
        )
        == 2
    )
    assert (
        sample_value(
            text, f'ollamon_requests_total{{host="h",{labels},outcome="error",source="proxy"}}'
        )
        == 1
    )
    assert (
        sample_value(text, f'ollamon_request_duration_seconds_count{{host="h",{labels},{PROXY}}}')
        == 3
    )
    assert (
        sample_value(
            text, f'ollamon_request_duration_seconds_bucket{{host="h",le="1.0",{labels},{PROXY}}}'
        )
        == 1
    )
    assert (
        sample_value(text, f'ollamon_time_to_first_token_seconds_count{{host="h",{labels}}}') == 3
    )
    assert sample_value(text, f'ollamon_tokens_generated_total{{host="h",{labels}}}') == 30
    # tokens/s over any range is the rate of one over the rate of the other
    assert sample_value(text, f'ollamon_generated_tokens_timed_total{{host="h",{labels}}}') == 30
    seconds = sample_value(text, f'ollamon_generation_seconds_total{{host="h",{labels}}}')
    assert abs(seconds - 30 / 41.5) < 1e-9
    assert "ollamon_tokens_per_second" not in text  # the last request's value is no metric


def test_host_and_gpu_gauges_follow_the_latest_sample() -> None:
    exporter = MetricsExporter()
    exporter.observe(system_sample(cpu=20.0))
    exporter.observe(system_sample(cpu=40.0))
    text = render(exporter)
    assert sample_value(text, 'ollamon_host_cpu_usage_ratio{host="test-host"}') == 0.4
    assert sample_value(text, 'ollamon_host_memory_available_bytes{host="test-host"}') == (
        24.5 * 1024**3
    )
    assert sample_value(text, 'ollamon_gpu_memory_total_bytes{gpu="0",host="test-host"}') == 24e9
    assert sample_value(text, 'ollamon_gpu_utilization_ratio{gpu="0",host="test-host"}') == 0.72


def test_firing_alerts_are_counted_until_resolved() -> None:
    exporter = MetricsExporter()
    alert = firing_alert()
    exporter.observe(alert)
    exporter.observe(alert)  # a repeat notification is still one alert
    firing = 'ollamon_alerts_firing{host="test-host",severity='
    assert sample_value(render(exporter), f'{firing}"high"}}') == 1
    resolved = alert.model_copy(update={"state": AlertState.RESOLVED})
    exporter.observe(resolved)
    assert sample_value(render(exporter), f'{firing}"high"}}') == 0
    assert sample_value(render(exporter), f'{firing}"critical"}}') == 0


def test_two_hosts_are_apart_in_every_series_about_a_host() -> None:
    exporter = MetricsExporter()
    url = "http://127.0.0.1:11434"  # each host polls its own Ollama at the same address
    for host, up, memory, response_ms, score in (
        ("vm", True, 11.0, 100.0, 8.0),
        ("hostB", False, 50.0, 4000.0, 3.0),
    ):
        exporter.observe(OllamaHealth(host=host, ollama_url=url, up=up))
        exporter.observe(
            system_sample().model_copy(update={"host": host, "memory_usage_percent": memory})
        )
        exporter.observe(
            OllamaModelMetrics(host=host, model_name="m:1b", response_time_ms=response_ms)
        )
        exporter.observe(ModelScore(host=host, model_name="m:1b", score=score))
    exporter.observe(firing_alert().model_copy(update={"host": "hostB", "fingerprint": "f-b"}))
    text = render(exporter)
    for host, up_value, memory, seconds, score, firing in (
        ("vm", 1, 11, 0.1, 8, 0),
        ("hostB", 0, 50, 4, 3, 1),
    ):
        assert sample_value(text, f'ollamon_ollama_up{{host="{host}",url="{url}"}}') == up_value
        assert (
            sample_value(text, f'ollamon_host_memory_usage_ratio{{host="{host}"}}') == memory / 100
        )
        assert (
            sample_value(
                text, f'ollamon_request_duration_seconds_sum{{host="{host}",model="m:1b",{PROXY}}}'
            )
            == seconds
        )
        assert sample_value(text, f'ollamon_model_score{{host="{host}",model="m:1b"}}') == score
        assert (
            sample_value(text, f'ollamon_alerts_firing{{host="{host}",severity="high"}}') == firing
        )


def test_scores_and_stream_counters_are_exported() -> None:
    exporter = MetricsExporter()
    exporter.observe(ModelScore(host="h", model_name="m:1b", score=7.5))
    text = render(exporter)
    assert sample_value(text, 'ollamon_model_score{host="h",model="m:1b"}') == 7.5
    assert sample_value(text, "ollamon_sse_clients ") == 2
    assert sample_value(text, "ollamon_sse_frames_dropped_total ") == 5
    later = exporter.render(sse_clients=0, sse_dropped=7).decode()
    assert sample_value(later, "ollamon_sse_frames_dropped_total ") == 7


def test_each_exporter_has_its_own_registry() -> None:
    first, second = MetricsExporter(), MetricsExporter()
    first.observe(ModelScore(host="h", model_name="only-in-first", score=1))
    assert "only-in-first" not in render(second)


def heartbeat(service: ServiceName, counters: dict[str, float]) -> Heartbeat:
    return Heartbeat(
        host="h", service=service, version="1", pid=1, started_at=utc_now(), counters=counters
    )


def test_the_spool_figures_of_each_service_follow_its_heartbeats() -> None:
    exporter = MetricsExporter()
    counters = {
        "spool_events": 12.0,
        "spool_bytes": 9000.0,
        "spool_oldest_age_seconds": 41.5,
        "spool_dropped": 3.0,
        "spool_dropped_requests": 1.0,
    }
    exporter.observe(heartbeat(ServiceName.PROBE, counters))
    exporter.observe(heartbeat(ServiceName.STORAGE, {"published": 1}))
    text = render(exporter)
    labels = '{host="h",service="probe"}'
    assert sample_value(text, f"ollamon_spool_events{labels}") == 12
    assert sample_value(text, f"ollamon_spool_bytes{labels}") == 9000
    assert sample_value(text, f"ollamon_spool_oldest_age_seconds{labels}") == 41.5
    assert sample_value(text, f"ollamon_spool_dropped_events_total{labels}") == 3
    assert sample_value(text, f"ollamon_spool_dropped_requests_total{labels}") == 1
    assert 'ollamon_spool_events{host="h",service="storage"}' not in text  # no spool, no series
    assert 'ollamon_service_heartbeat_timestamp_seconds{host="h",service="storage"}' in text
    drained = {**counters, "spool_events": 0.0, "spool_oldest_age_seconds": 0.0}
    exporter.observe(heartbeat(ServiceName.PROBE, drained))
    assert sample_value(render(exporter), f"ollamon_spool_events{labels}") == 0
