"""Prometheus metrics from the live events, in a registry of the app's own (no globals).

Names follow Prometheus' conventions: one metric per quantity, in base units (seconds,
bytes, ratios 0-1, celsius, watts), `_total` on counters, `_info` on the info gauges; no
metric mixes units under a `metric` label. The README lists every series.

Every series about a host carries a `host` label (the event's `OLLAMON_HOST_LABEL`), so two
hosts are never one series: model series are per (model, host), Ollama's state per (host,
url), GPUs per (host, gpu), firing alerts per (host, severity).

Label cardinality is bounded: hosts and Ollama URLs are the fleet's own (set by who runs
it), GPUs by the hardware, severities, outcomes and services are enums; a model name comes
from a client's request body, so each host keeps at most `MAX_MODELS_PER_HOST` model names
and counts any further one as `OTHER_MODEL`.

The families live in `ollamon_gateway.prometheus`, one module per job (requests, host and
GPUs, Ollama and its models, ollamon's services); this module routes each event to its job.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ollamon_core.events import (
    Event,
    Heartbeat,
    InFlightRequests,
    ModelLifecycleEvent,
    ModelScore,
    NotificationDelivery,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
)
from ollamon_gateway.backend_collector import BackendCollector
from ollamon_gateway.prometheus.families import (
    MAX_MODELS_PER_HOST,
    OTHER_MODEL,
    Families,
    ModelLabels,
)
from ollamon_gateway.prometheus.host_metrics import HostMetrics
from ollamon_gateway.prometheus.ollama_metrics import OllamaMetrics
from ollamon_gateway.prometheus.request_metrics import (
    CONTEXT_BUCKETS_RATIO,
    LATENCY_BUCKETS_SECONDS,
    LOAD_BUCKETS_SECONDS,
    RequestMetrics,
    request_outcome,
)
from ollamon_gateway.prometheus.service_metrics import ServiceMetrics

__all__ = [
    "CONTENT_TYPE",
    "CONTEXT_BUCKETS_RATIO",
    "LATENCY_BUCKETS_SECONDS",
    "LOAD_BUCKETS_SECONDS",
    "MAX_MODELS_PER_HOST",
    "OTHER_MODEL",
    "MetricsExporter",
    "request_outcome",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST
# No `<name>_created` gauge beside every counter and histogram: the text format has no
# created timestamps, so each would be one more series of its own (a process-wide switch;
# the gateway is the only user of prometheus-client in its process).
disable_created_metrics()
# Events about a monitored host: each host they name gets its firing-alert gauges at 0.
HOST_EVENTS = (
    OllamaModelMetrics,
    OllamaSystemMetrics,
    OllamaHealth,
    OllamaPerformanceAlert,
    ModelScore,
    OllamaModelsSnapshot,
    ModelLifecycleEvent,
    InFlightRequests,
)


class MetricsExporter:
    """Counters, histograms and gauges updated from events; rendered for `GET /metrics`."""

    def __init__(self) -> None:
        # No auto-describe: it would collect at registration, and the process collector reads
        # /proc (blocking) on the event loop that builds the gateway.
        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        families = Families(self.registry)
        models = ModelLabels()
        self.requests = RequestMetrics(families, models)
        self.host = HostMetrics(families)
        self.ollama = OllamaMetrics(families, models)
        self.service = ServiceMetrics(families)
        self.backends = BackendCollector(self.registry)  # llama.cpp's and vLLM's own load

    def observe(self, event: Event) -> None:
        """Update the metrics one event touches."""
        if isinstance(event, HOST_EVENTS):
            self.service.see_host(event.host)
        match event:
            case OllamaModelMetrics():
                self.requests.observe(event)
            case OllamaSystemMetrics():
                self.host.observe(event)
            case OllamaPerformanceAlert():
                self.service.observe_alert(event)
            case ModelScore():
                self.requests.observe_score(event)
            case InFlightRequests():
                self.requests.observe_in_flight(event)
            case OllamaHealth():
                self.ollama.observe_health(event)
                self.backends.observe_health(event)
            case OllamaModelsSnapshot():
                self.ollama.observe_models(event)
                self.backends.observe_models(event)
            case ModelLifecycleEvent():
                self.ollama.observe_lifecycle(event)
            case Heartbeat():
                self.service.observe_heartbeat(event)
            case NotificationDelivery():
                self.service.observe_delivery(event)

    def render(self, *, sse_clients: int, sse_dropped: int) -> bytes:
        """The Prometheus text exposition of every metric.

        `sse_dropped` is the stream's count since the gateway started: the counter takes
        what it grew by since the last scrape.
        """
        self.service.update_stream(sse_clients=sse_clients, sse_dropped=sse_dropped)
        self.requests.expire_in_flight()
        return generate_latest(self.registry)
