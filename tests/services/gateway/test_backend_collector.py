"""The load llama.cpp or vLLM report of themselves reaches `/metrics`, by host and URL."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from ollamon_core.events import BackendKind, BackendLoad, OllamaHealth, OllamaModelsSnapshot
from ollamon_gateway.exporter import MetricsExporter

URL = "http://gpu-a:8080"


Labels = tuple[tuple[str, str], ...]


def exposed(exporter: MetricsExporter) -> dict[str, tuple[str, dict[Labels, float]]]:
    text = exporter.render(sse_clients=0, sse_dropped=0).decode()
    return {
        family.name: (
            family.type,
            {tuple(sorted(sample.labels.items())): sample.value for sample in family.samples},
        )
        for family in text_string_to_metric_families(text)
        if family.name.startswith("ollamon_backend")
    }


def snapshot(load: BackendLoad | None) -> OllamaModelsSnapshot:
    return OllamaModelsSnapshot(
        host="gpu-a", ollama_url=URL, backend=BackendKind.LLAMA_CPP, backend_load=load
    )


def test_a_llama_cpp_server_s_load_is_exposed_with_counters_as_counters() -> None:
    exporter = MetricsExporter()
    exporter.observe(
        OllamaHealth(host="gpu-a", ollama_url=URL, up=True, backend=BackendKind.LLAMA_CPP)
    )
    load = BackendLoad(
        requests_processing=2,
        requests_waiting=5,
        kv_cache_usage_percent=12.5,
        tokens_generated_total=900,
        prompt_tokens_total=40,
        tokens_per_second=30.0,
    )
    exporter.observe(snapshot(load))
    families = exposed(exporter)
    labels = (("host", "gpu-a"), ("url", URL))
    info = (("backend", "llama.cpp"), *labels)
    assert families["ollamon_backend_info"] == ("gauge", {info: 1.0})
    assert families["ollamon_backend_requests_running"] == ("gauge", {labels: 2.0})
    assert families["ollamon_backend_requests_waiting"] == ("gauge", {labels: 5.0})
    assert families["ollamon_backend_kv_cache_usage_ratio"] == ("gauge", {labels: 0.125})
    assert families["ollamon_backend_generated_tokens"] == ("counter", {labels: 900.0})
    assert families["ollamon_backend_prompt_tokens"] == ("counter", {labels: 40.0})


def test_a_snapshot_without_load_drops_the_server_s_series() -> None:
    exporter = MetricsExporter()
    exporter.observe(snapshot(BackendLoad(requests_processing=1)))
    assert "ollamon_backend_requests_running" in exposed(exporter)
    exporter.observe(snapshot(None))
    assert exposed(exporter) == {}
