"""`/metrics` follows Prometheus' naming conventions, read back with prometheus-client's own
parser: one metric per quantity in base units, counters are counters, every host series has
`host`, label values bounded."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from ollamon_core.events import (
    UNKNOWN_MODEL,
    InFlightRequests,
    LifecycleChange,
    ModelLifecycleEvent,
    OllamaHealth,
    OllamaModelMetrics,
    RequestSource,
)
from ollamon_gateway.exporter import MAX_MODELS_PER_HOST, OTHER_MODEL, MetricsExporter
from tests.services.gateway.exposition import (
    MODEL,
    full_exporter,
    full_exposition,
    loaded_model,
    models_snapshot,
    request,
)
from tests.services.gateway.stubs import HOST, OLLAMA_URL

UNIT_SUFFIXES = (
    "_seconds",
    "_bytes",
    "_ratio",
    "_celsius",
    "_watts",
    "_bytes_per_second",
    "_info",
)
# Gauges of a count or a score: no unit to name (Prometheus' own `up`, `node_load1`).
UNITLESS = {
    "ollamon_model_score",
    "ollamon_host_load1",
    "ollamon_host_load5",
    "ollamon_host_load15",
    "ollamon_alerts_firing",
    "ollamon_sse_clients",
    "ollamon_spool_events",
    "ollamon_model_loaded",
    "ollamon_ollama_up",
    "ollamon_requests_in_flight",
    "ollamon_backend_requests_running",  # a llama.cpp or vLLM server's own (backend_collector)
    "ollamon_backend_requests_waiting",
}
# The gateway's own and the notifier's receivers: about no monitored host.
NOT_ABOUT_A_HOST = {
    "ollamon_build_info",
    "ollamon_sse_clients",
    "ollamon_sse_frames_dropped",
    "ollamon_notifications",
}


def families(text: str) -> dict[str, tuple[str, list[Sample]]]:
    return {
        family.name: (family.type, list(family.samples))
        for family in text_string_to_metric_families(text)
    }


@pytest.fixture(scope="module")
def exposed() -> dict[str, tuple[str, list[Sample]]]:
    return families(full_exposition())


def ours(exposed: dict[str, tuple[str, list[Sample]]]) -> dict[str, tuple[str, list[Sample]]]:
    return {name: value for name, value in exposed.items() if name.startswith("ollamon_")}


def test_every_family_is_parsed_with_samples(exposed: dict[str, tuple[str, list[Sample]]]) -> None:
    empty = [name for name, (_, samples) in ours(exposed).items() if not samples]
    assert not empty, f"families without a sample after one event of each kind: {empty}"


def test_names_end_in_a_base_unit_or_are_counts(
    exposed: dict[str, tuple[str, list[Sample]]],
) -> None:
    for name, (kind, _) in ours(exposed).items():
        if kind == "counter":
            continue  # counted things: `_total` (next test)
        assert name.endswith(UNIT_SUFFIXES) or name in UNITLESS, f"{name}: no base unit"
        assert not name.endswith(("_percent", "_ms", "_mbps", "_gb", "_total")), name


def test_counters_are_counters_and_only_counters_end_in_total(
    exposed: dict[str, tuple[str, list[Sample]]],
) -> None:
    for kind, samples in ours(exposed).values():
        for sample in samples:
            if kind == "counter":
                assert sample.name.endswith(("_total", "_created")), sample.name
            else:
                assert not sample.name.endswith("_total"), f"{sample.name} is a {kind}"
    kinds = {name: kind for name, (kind, _) in exposed.items()}
    for counter in (
        "ollamon_requests",
        "ollamon_tokens_generated",
        "ollamon_prompt_tokens",
        "ollamon_sse_frames_dropped",
        "ollamon_spool_dropped_events",
        "ollamon_spool_dropped_requests",
        "ollamon_notifications",
    ):
        assert kinds[counter] == "counter", counter


def test_histograms_are_in_seconds_per_model_and_host(
    exposed: dict[str, tuple[str, list[Sample]]],
) -> None:
    histograms = {name for name, (kind, _) in exposed.items() if kind == "histogram"}
    assert histograms == {
        "ollamon_request_duration_seconds",
        "ollamon_time_to_first_token_seconds",
        "ollamon_inter_chunk_gap_seconds",
        "ollamon_model_load_duration_seconds",
        "ollamon_prompt_eval_duration_seconds",
        "ollamon_eval_duration_seconds",
        "ollamon_context_usage_ratio",
    }
    for name in histograms:
        for sample in exposed[name][1]:
            assert {"model", "host"} <= set(sample.labels), sample


def test_no_metric_mixes_quantities_under_a_metric_label(
    exposed: dict[str, tuple[str, list[Sample]]],
) -> None:
    for name, (_, samples) in exposed.items():
        for sample in samples:
            assert "metric" not in sample.labels, f"{name} mixes quantities: {sample}"
    assert "ollamon_host" not in exposed and "ollamon_gpu" not in exposed


def test_every_series_about_a_host_has_its_host_label(
    exposed: dict[str, tuple[str, list[Sample]]],
) -> None:
    for name, (_, samples) in ours(exposed).items():
        if name in NOT_ABOUT_A_HOST:
            continue
        for sample in samples:
            assert sample.labels.get("host") == HOST, f"{name} without host: {sample}"


def test_process_platform_and_build_information_are_exported(
    exposed: dict[str, tuple[str, list[Sample]]],
) -> None:
    assert "process_resident_memory_bytes" in exposed
    assert "process_cpu_seconds" in exposed  # family of process_cpu_seconds_total
    assert "python_info" in exposed
    (build,) = exposed["ollamon_build_info"][1]
    assert build.value == 1 and build.labels["version"]


def value(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_each_reported_duration_is_a_histogram_of_the_model_on_its_host() -> None:
    text = full_exposition()
    labels = {"model": MODEL, "host": HOST}
    assert value(text, "ollamon_model_load_duration_seconds_sum", **labels) == 3.0
    assert value(text, "ollamon_prompt_eval_duration_seconds_sum", **labels) == pytest.approx(0.16)
    assert value(text, "ollamon_eval_duration_seconds_sum", **labels) == 4.0
    assert value(text, "ollamon_inter_chunk_gap_seconds_count", **labels) == 2
    assert value(text, "ollamon_prompt_tokens_total", **labels) == 52
    assert value(text, "ollamon_context_usage_ratio_bucket", le="0.5", **labels) == 2


def test_requests_are_counted_by_outcome_and_a_cancelled_one_is_not_a_success() -> None:
    text = full_exposition()
    labels = {"model": MODEL, "host": HOST}
    assert value(text, "ollamon_requests_total", outcome="success", **labels) == 1
    assert value(text, "ollamon_requests_total", outcome="error", **labels) == 1
    assert value(text, "ollamon_requests_total", outcome="cancelled", **labels) == 1


def test_requests_only_ollamas_log_saw_are_counted_apart_with_source_log() -> None:
    exporter = MetricsExporter()
    exporter.observe(request())
    bypassed = OllamaModelMetrics(
        host=HOST,
        model_name=UNKNOWN_MODEL,
        model_unknown=True,
        response_time_ms=1234.0,
        endpoint="/api/generate",
        source=RequestSource.LOG,
        client_address="10.0.0.7",
    )
    exporter.observe(bypassed)
    exporter.observe(bypassed.model_copy(update={"status_code": 500, "error_occurred": True}))
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    log = {"model": UNKNOWN_MODEL, "host": HOST, "source": "log"}
    assert value(text, "ollamon_requests_total", outcome="success", **log) == 1
    assert value(text, "ollamon_requests_total", outcome="error", **log) == 1
    assert value(text, "ollamon_request_duration_seconds_count", **log) == 2
    assert value(text, "ollamon_request_duration_seconds_sum", **log) == pytest.approx(2.468)
    proxied = {"model": MODEL, "host": HOST, "source": "proxy"}
    assert value(text, "ollamon_requests_total", outcome="success", **proxied) == 1
    # The log gives no TTFT, tokens or backend durations: nothing observed for its requests.
    assert value(text, "ollamon_time_to_first_token_seconds_count", model=UNKNOWN_MODEL) is None


def in_flight(host: str, interval: float = 1.0, **by_model: int) -> InFlightRequests:
    return InFlightRequests(
        host=host, ollama_url=OLLAMA_URL, by_model=by_model, interval_seconds=interval
    )


def test_requests_in_flight_follow_the_probes_count_and_drop_to_zero_when_done() -> None:
    exporter = MetricsExporter()
    requests = exporter.requests
    requests.observe_in_flight(in_flight(HOST, a=2, b=1))
    requests.observe_in_flight(in_flight("other-host", a=5))
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    assert value(text, "ollamon_requests_in_flight", model="a", host=HOST) == 2
    assert value(text, "ollamon_requests_in_flight", model="b", host=HOST) == 1
    assert value(text, "ollamon_requests_in_flight", model="a", host="other-host") == 5
    requests.observe_in_flight(in_flight(HOST, a=1))
    requests.observe_in_flight(in_flight("other-host"))  # all done
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    assert value(text, "ollamon_requests_in_flight", model="a", host=HOST) == 1
    assert value(text, "ollamon_requests_in_flight", model="b", host=HOST) == 0
    assert value(text, "ollamon_requests_in_flight", model="a", host="other-host") == 0


def test_a_probe_that_goes_quiet_while_busy_has_its_count_zeroed() -> None:
    exporter = MetricsExporter()
    seen_at = time.monotonic()
    exporter.requests.observe_in_flight(in_flight(HOST, interval=60.0, a=3), now=seen_at)
    exporter.requests.expire_in_flight(now=seen_at + 179.9)  # within three intervals
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    assert value(text, "ollamon_requests_in_flight", model="a", host=HOST) == 3
    exporter.requests.expire_in_flight(now=seen_at + 180.1)
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    assert value(text, "ollamon_requests_in_flight", model="a", host=HOST) == 0


def test_a_backend_that_reports_no_durations_adds_no_zero_observations() -> None:
    exporter = MetricsExporter()
    exporter.observe(
        request(load_duration_ms=0.0, prompt_eval_duration_ms=0.0, eval_duration_ms=0.0)
    )
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    for name in ("load", "prompt_eval", "eval"):
        family = "model_load" if name == "load" else name
        assert value(text, f"ollamon_{family}_duration_seconds_count", host=HOST) is None


def test_loaded_models_show_size_vram_and_expiry_until_unloaded() -> None:
    exporter = full_exporter()
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    model = {"model": MODEL, "host": HOST}
    assert value(text, "ollamon_model_loaded", **model) == 1
    assert value(text, "ollamon_model_loaded", model="qwen2.5:7b", host=HOST) == 0
    assert value(text, "ollamon_model_size_bytes", **model) == 4e9
    assert value(text, "ollamon_model_vram_bytes", **model) == 3e9
    assert (value(text, "ollamon_model_expiry_timestamp_seconds", **model) or 0) > 0
    changes = {"change": LifecycleChange.LOADED.value, **model}
    assert value(text, "ollamon_model_residency_changes_total", **changes) == 1
    exporter.observe(models_snapshot())  # nothing loaded now
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    assert value(text, "ollamon_model_loaded", **model) == 0
    assert value(text, "ollamon_model_size_bytes", **model) is None
    assert value(text, "ollamon_model_vram_bytes", **model) is None
    exporter.observe(models_snapshot(loaded_model()))
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    assert value(text, "ollamon_model_loaded", **model) == 1


def test_ollama_info_names_the_version_in_use_and_drops_the_old_one_on_upgrade() -> None:
    exporter = MetricsExporter()
    for version in ("0.12.6", "0.13.0"):
        exporter.observe(OllamaHealth(host=HOST, ollama_url=OLLAMA_URL, up=True, version=version))
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    assert value(text, "ollamon_ollama_info", host=HOST, url=OLLAMA_URL, version="0.13.0") == 1
    assert value(text, "ollamon_ollama_info", version="0.12.6") is None


def test_model_names_past_the_cap_of_a_host_are_counted_as_other() -> None:
    exporter = MetricsExporter()
    for index in range(MAX_MODELS_PER_HOST + 10):
        exporter.observe(request(model_name=f"made-up-{index}"))
    exporter.observe(request(model_name="made-up-0"))  # a known name keeps its series
    exporter.observe(
        ModelLifecycleEvent(
            host="other-host",
            ollama_url=OLLAMA_URL,
            model_name="made-up-99",
            change=LifecycleChange.LOADED,
        )
    )  # another host has its own cap
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    models = {
        sample.labels["model"]
        for family in text_string_to_metric_families(text)
        if family.name == "ollamon_requests"
        for sample in family.samples
        if sample.name == "ollamon_requests_total"
    }
    assert len(models) == MAX_MODELS_PER_HOST + 1
    assert value(text, "ollamon_requests_total", model=OTHER_MODEL, host=HOST) == 10
    assert value(text, "ollamon_requests_total", model="made-up-0", host=HOST) == 2
    assert value(text, "ollamon_model_residency_changes_total", model="made-up-99") == 1
