"""Prometheus metrics from the live events, in a registry of the app's own (no globals).

Every series about a host carries a `host` label (the event's `OLLAMON_HOST_LABEL`), so two
hosts are never one series: model series are per (model, host), Ollama's state per (host,
url), firing alerts per (host, severity).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ollamon_core.events import (
    AlertState,
    Event,
    Heartbeat,
    ModelScore,
    NotificationDelivery,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    Severity,
)
from ollamon_core.redaction import redact_url

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
TTFT_BUCKETS_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
GIB = 1024**3
# Events about a monitored host: each host they name gets its firing-alert gauges at 0.
HOST_EVENTS = (
    OllamaModelMetrics,
    OllamaSystemMetrics,
    OllamaHealth,
    OllamaPerformanceAlert,
    ModelScore,
)


class MetricsExporter:
    """Counters, histograms and gauges updated from events; rendered for `GET /metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        model_labels = ("model", "host")
        self.requests = Counter(
            "ollamon_requests",
            "Requests to Ollama seen by the proxy",
            (*model_labels, "outcome"),
            registry=registry,
        )
        self.latency = Histogram(
            "ollamon_request_duration_seconds",
            "Response time of requests to Ollama",
            model_labels,
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=registry,
        )
        self.ttft = Histogram(
            "ollamon_time_to_first_token_seconds",
            "Time to the first streamed token",
            model_labels,
            buckets=TTFT_BUCKETS_SECONDS,
            registry=registry,
        )
        self.tokens_per_second = Gauge(
            "ollamon_tokens_per_second",
            "Generation rate of the latest request",
            model_labels,
            registry=registry,
        )
        self.tokens_generated = Counter(
            "ollamon_tokens_generated", "Tokens generated", model_labels, registry=registry
        )
        self.score = Gauge(
            "ollamon_model_score", "Performance score 0-10", model_labels, registry=registry
        )
        self.host = Gauge(
            "ollamon_host", "Host gauges from the collector", ("host", "metric"), registry=registry
        )
        self.gpu = Gauge(
            "ollamon_gpu", "GPU gauges from NVML", ("host", "gpu", "metric"), registry=registry
        )
        self.ollama_up = Gauge(
            "ollamon_ollama_up",
            "1 when Ollama answered its last poll",
            ("host", "url"),
            registry=registry,
        )
        self.alerts_firing = Gauge(
            "ollamon_alerts_firing", "Alerts firing now", ("host", "severity"), registry=registry
        )
        self.sse_clients = Gauge(
            "ollamon_sse_clients", "Dashboard stream clients connected", registry=registry
        )
        self.sse_dropped = Gauge(
            "ollamon_sse_frames_dropped",
            "Stream frames dropped for slow clients",
            registry=registry,
        )
        # From the notifier: one per settled delivery attempt (outcome delivered, retrying,
        # failed or dead_lettered), by the receiver's configured name.
        self.notifications = Counter(
            "ollamon_notifications",
            "Notification attempts by receiver and outcome",
            ("receiver", "outcome"),
            registry=registry,
        )
        service_labels = ("service", "host")
        # From the heartbeats of the services with a disk spool (probe, collector): what
        # waits there while NATS does not acknowledge it (a `telemetry_backlog` alert fires
        # on the same figures).
        self.spool = {
            counter: Gauge(name, text, service_labels, registry=registry)
            for counter, name, text in (
                ("spool_events", "ollamon_spool_events", "Events waiting in the disk spool"),
                ("spool_bytes", "ollamon_spool_bytes", "Size of the disk spool's events"),
                (
                    "spool_oldest_age_seconds",
                    "ollamon_spool_oldest_age_seconds",
                    "Age of the oldest event in the disk spool (0 when empty)",
                ),
                (
                    "spool_dropped",
                    "ollamon_spool_dropped_events",
                    "Events the full spool dropped since the service started",
                ),
                (
                    "spool_dropped_requests",
                    "ollamon_spool_dropped_requests",
                    "Request events among them",
                ),
            )
        }
        self._firing: dict[str, tuple[str, Severity]] = {}  # fingerprint -> host, severity
        self._hosts: set[str] = set()

    def _see_host(self, host: str) -> None:
        """A host's first event: its firing-alert gauges start at 0 for every severity."""
        if host not in self._hosts:
            self._hosts.add(host)
            for severity in Severity:
                self.alerts_firing.labels(host, severity.value).set(0)

    def observe(self, event: Event) -> None:
        """Update the metrics one event touches."""
        if isinstance(event, HOST_EVENTS):
            self._see_host(event.host)
        match event:
            case OllamaModelMetrics():
                self._observe_request(event)
            case OllamaSystemMetrics():
                self._observe_system(event)
            case OllamaPerformanceAlert():
                self._observe_alert(event)
            case ModelScore():
                self.score.labels(event.model_name, event.host).set(event.score)
            case OllamaHealth():
                url = redact_url(event.ollama_url)  # a label is kept for good: never a secret
                self.ollama_up.labels(event.host, url).set(1 if event.up else 0)
            case Heartbeat():
                self._observe_heartbeat(event)
            case NotificationDelivery():
                self.notifications.labels(event.receiver, event.outcome.value).inc()

    def _observe_heartbeat(self, heartbeat: Heartbeat) -> None:
        if "spool_events" not in heartbeat.counters:
            return  # a service without a spool
        labels = (heartbeat.service.value, heartbeat.host)
        for counter, gauge in self.spool.items():
            gauge.labels(*labels).set(heartbeat.counters.get(counter, 0.0))

    def _observe_request(self, event: OllamaModelMetrics) -> None:
        labels = (event.model_name, event.host)
        outcome = "error" if event.error_occurred else "success"
        self.requests.labels(*labels, outcome).inc()
        self.latency.labels(*labels).observe(event.response_time_ms / 1000)
        if event.time_to_first_token_ms is not None:
            self.ttft.labels(*labels).observe(event.time_to_first_token_ms / 1000)
        if event.tokens_per_second is not None:
            self.tokens_per_second.labels(*labels).set(event.tokens_per_second)
        if event.tokens_generated:
            self.tokens_generated.labels(*labels).inc(event.tokens_generated)

    def _observe_system(self, event: OllamaSystemMetrics) -> None:
        host = event.host
        values: dict[str, float | None] = {
            "cpu_usage_percent": event.cpu_usage_percent,
            "memory_usage_percent": event.memory_usage_percent,
            "memory_available_bytes": event.memory_available_gb * GIB,
            "disk_usage_percent": event.disk_usage_percent,
            "network_io_mbps": event.network_io_mbps,
            "models_loaded": event.models_loaded,
            "load_average_1m": event.load_average_1m,
            "swap_usage_percent": event.swap_usage_percent,
        }
        for metric, value in values.items():
            if value is not None:
                self.host.labels(host, metric).set(value)
        for gpu in event.gpus:
            gpu_values: dict[str, float | None] = {
                "utilization_percent": gpu.utilization_percent,
                "memory_used_bytes": gpu.memory_used_bytes,
                "memory_total_bytes": gpu.memory_total_bytes,
                "temperature_celsius": gpu.temperature_celsius,
                "power_draw_watts": gpu.power_draw_watts,
            }
            for metric, value in gpu_values.items():
                if value is not None:
                    self.gpu.labels(host, str(gpu.index), metric).set(value)

    def _observe_alert(self, alert: OllamaPerformanceAlert) -> None:
        key = alert.fingerprint or alert.event_id
        before = self._firing.pop(key, None)
        if alert.state == AlertState.FIRING:
            self._firing[key] = (alert.host, alert.severity)
        for host in {alert.host} | ({before[0]} if before else set()):
            self._see_host(host)
            for severity in Severity:
                count = sum(1 for value in self._firing.values() if value == (host, severity))
                self.alerts_firing.labels(host, severity.value).set(count)

    def render(self, *, sse_clients: int, sse_dropped: int) -> bytes:
        """The Prometheus text exposition of every metric."""
        self.sse_clients.set(sse_clients)
        self.sse_dropped.set(sse_dropped)
        return generate_latest(self.registry)
