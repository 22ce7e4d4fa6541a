"""The load that llama.cpp or vLLM report of themselves, for `GET /metrics`.

The probe reads a server's own Prometheus metrics into the `backend_load` of its models
snapshots (README, "Monitoring llama.cpp, vLLM, LM Studio"). This collector exposes the
latest one of each server, by `host` and `url`: requests running and waiting, KV-cache use
(a ratio), and the server's token counters as counters (so `rate()` gives tokens/s, and a
server's restart reads as a counter reset); and `ollamon_backend_info{backend}` from the
health events. A server whose snapshot carries no load has no series.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ollamon_core.events import BackendLoad, OllamaHealth, OllamaModelsSnapshot
from ollamon_core.redaction import redact_url

LABELS = ["host", "url"]

# (metric name, help, kind, BackendLoad field, divisor)
_SERIES = (
    (
        "ollamon_backend_requests_running",
        "Requests the server is processing (its own metrics)",
        "gauge",
        "requests_processing",
        1.0,
    ),
    (
        "ollamon_backend_requests_waiting",
        "Requests queued for a free slot (its own metrics)",
        "gauge",
        "requests_waiting",
        1.0,
    ),
    (
        "ollamon_backend_kv_cache_usage_ratio",
        "Share of the KV cache in use (its own metrics; the fullest model's)",
        "gauge",
        "kv_cache_usage_percent",
        100.0,
    ),
    (
        "ollamon_backend_generated_tokens",
        "Tokens the server generated since it started (its own counter)",
        "counter",
        "tokens_generated_total",
        1.0,
    ),
    (
        "ollamon_backend_prompt_tokens",
        "Prompt tokens the server processed since it started (its own counter)",
        "counter",
        "prompt_tokens_total",
        1.0,
    ),
)


class BackendCollector(Collector):
    """The latest `backend_load` and kind of every server; registered on `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._loads: dict[tuple[str, str], BackendLoad] = {}
        self._kinds: dict[tuple[str, str], str] = {}
        registry.register(self)

    def observe_models(self, event: OllamaModelsSnapshot) -> None:
        """Keep the snapshot's load (a snapshot without one drops the server's series)."""
        key = (event.host, redact_url(event.ollama_url))
        if event.backend_load is None:
            self._loads.pop(key, None)
        else:
            self._loads[key] = event.backend_load

    def observe_health(self, event: OllamaHealth) -> None:
        """Keep the kind of server the watcher found."""
        self._kinds[(event.host, redact_url(event.ollama_url))] = event.backend.value

    def collect(self) -> Iterator[Metric]:
        if self._kinds:
            info = GaugeMetricFamily(
                "ollamon_backend_info",
                "The kind of server at an upstream URL (always 1)",
                labels=[*LABELS, "backend"],
            )
            for (host, url), kind in sorted(self._kinds.items()):
                info.add_metric([host, url, kind], 1.0)
            yield info
        for name, text, kind, field, divisor in _SERIES:
            family: GaugeMetricFamily | CounterMetricFamily = (
                CounterMetricFamily(name, text, labels=LABELS)
                if kind == "counter"
                else GaugeMetricFamily(name, text, labels=LABELS)
            )
            for (host, url), load in sorted(self._loads.items()):
                value = getattr(load, field)
                if value is not None:
                    family.add_metric([host, url], value / divisor)
            if family.samples:
                yield family
