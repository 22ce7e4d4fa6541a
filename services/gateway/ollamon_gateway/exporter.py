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
"""

from __future__ import annotations

import contextlib
import platform

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ollamon_core import __version__
from ollamon_core.events import (
    AlertState,
    Event,
    Heartbeat,
    ModelLifecycleEvent,
    ModelScore,
    NotificationDelivery,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    Severity,
)
from ollamon_core.redaction import redact_url
from ollamon_gateway.backend_collector import BackendCollector
from ollamon_gateway.reported import ReportedCounter

CONTENT_TYPE = CONTENT_TYPE_LATEST
# No `<name>_created` gauge beside every counter and histogram: the text format has no
# created timestamps, so each would be one more series of its own (a process-wide switch;
# the gateway is the only user of prometheus-client in its process).
disable_created_metrics()
# Bucket bounds in seconds. deploy/prometheus/ollamon-rules.yml counts requests over a
# threshold from a bucket: the default thresholds (30 s response, 60 s load) are bounds here.
LATENCY_BUCKETS_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
TTFT_BUCKETS_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
GAP_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
LOAD_BUCKETS_SECONDS = (0.01, 0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
PROMPT_EVAL_BUCKETS_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
CONTEXT_BUCKETS_RATIO = (0.25, 0.5, 0.75, 0.9, 1.0)
GIB = 1024**3
MEGA = 1_000_000
BITS_PER_BYTE = 8
MAX_MODELS_PER_HOST = 64
OTHER_MODEL = "(other)"
# Events about a monitored host: each host they name gets its firing-alert gauges at 0.
HOST_EVENTS = (
    OllamaModelMetrics,
    OllamaSystemMetrics,
    OllamaHealth,
    OllamaPerformanceAlert,
    ModelScore,
    OllamaModelsSnapshot,
    ModelLifecycleEvent,
)
MODEL = ("model", "host")
GPU = ("host", "gpu")


def request_outcome(event: OllamaModelMetrics) -> str:
    """`cancelled` (the client went away before the reply ended: the probe records no error
    for it, and storage counts it apart), `error` or `success`."""
    if event.cancelled:
        return "cancelled"
    return "error" if event.error_occurred else "success"


class MetricsExporter:
    """Counters, histograms and gauges updated from events; rendered for `GET /metrics`."""

    def __init__(self) -> None:
        # No auto-describe: it would collect at registration, and the process collector reads
        # /proc (blocking) on the event loop that builds the gateway.
        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._define_requests()
        self._define_host()
        self._define_ollama()
        self._define_service()
        self.backends = BackendCollector(self.registry)  # llama.cpp's and vLLM's own load
        self._firing: dict[str, tuple[str, Severity]] = {}  # fingerprint -> host, severity
        self._hosts: set[str] = set()
        self._models: dict[str, set[str]] = {}  # host -> model label values in use
        self._loaded: dict[tuple[str, str], set[str]] = {}  # (host, url) -> loaded models
        self._versions: dict[tuple[str, str], str] = {}  # (host, url) -> Ollama's version
        self._sse_dropped_seen = 0

    def _gauge(self, name: str, text: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, text, labels, registry=self.registry)

    def _histogram(self, name: str, text: str, buckets: tuple[float, ...]) -> Histogram:
        return Histogram(name, text, MODEL, buckets=buckets, registry=self.registry)

    def _counter(self, name: str, text: str, labels: tuple[str, ...] = MODEL) -> Counter:
        return Counter(name, text, labels, registry=self.registry)

    def _define_requests(self) -> None:
        self.requests = self._counter(
            "ollamon_requests", "Requests seen by the proxy", (*MODEL, "outcome")
        )
        self.latency = self._histogram(
            "ollamon_request_duration_seconds",
            "Response time of requests, as the proxy's client saw it",
            LATENCY_BUCKETS_SECONDS,
        )
        self.ttft = self._histogram(
            "ollamon_time_to_first_token_seconds",
            "Time to the first streamed token",
            TTFT_BUCKETS_SECONDS,
        )
        self.gap = self._histogram(
            "ollamon_inter_chunk_gap_seconds",
            "Mean gap between the chunks of a streamed request (one observation a request)",
            GAP_BUCKETS_SECONDS,
        )
        self.load = self._histogram(
            "ollamon_model_load_duration_seconds",
            "Load duration the backend reported: loading the model, or queueing for it",
            LOAD_BUCKETS_SECONDS,
        )
        self.prompt_eval = self._histogram(
            "ollamon_prompt_eval_duration_seconds",
            "Prompt evaluation duration the backend reported",
            PROMPT_EVAL_BUCKETS_SECONDS,
        )
        self.eval = self._histogram(
            "ollamon_eval_duration_seconds",
            "Generation (eval) duration the backend reported",
            LATENCY_BUCKETS_SECONDS,
        )
        self.context = self._histogram(
            "ollamon_context_usage_ratio",
            "Share of the context window (num_ctx) a request used",
            CONTEXT_BUCKETS_RATIO,
        )
        self.tokens_generated = self._counter("ollamon_tokens_generated", "Tokens generated")
        self.prompt_tokens = self._counter("ollamon_prompt_tokens", "Prompt tokens evaluated")
        # tokens/s over any range: rate(ollamon_generated_tokens_timed_total) /
        # rate(ollamon_generation_seconds_total), both from the requests whose rate is known.
        self.timed_tokens = self._counter(
            "ollamon_generated_tokens_timed",
            "Tokens generated by requests whose generation time is known",
        )
        self.generation_seconds = self._counter(
            "ollamon_generation_seconds", "Time those requests spent generating their tokens"
        )
        self.score = self._gauge(
            "ollamon_model_score", "Performance score 0-10 (alerting's score)", MODEL
        )

    def _define_host(self) -> None:
        host = ("host",)
        self.host_gauges = {
            name: self._gauge(f"ollamon_host_{name}", text, host)
            for name, text in (
                ("cpu_usage_ratio", "CPU in use, all cores (0-1)"),
                ("memory_usage_ratio", "Memory in use (0-1)"),
                ("memory_used_bytes", "Memory in use"),
                ("memory_available_bytes", "Memory available"),
                ("memory_total_bytes", "Memory installed"),
                ("swap_usage_ratio", "Swap in use (0-1)"),
                ("swap_used_bytes", "Swap in use"),
                ("load1", "Load average over 1 minute"),
                ("load5", "Load average over 5 minutes"),
                ("load15", "Load average over 15 minutes"),
                ("network_receive_bytes_per_second", "Network received, all interfaces"),
                ("network_transmit_bytes_per_second", "Network sent, all interfaces"),
                ("disk_read_bytes_per_second", "Disk read, all disks"),
                ("disk_write_bytes_per_second", "Disk written, all disks"),
            )
        }
        self.disk = self._gauge(
            "ollamon_host_disk_usage_ratio",
            "Disk in use (0-1): mount root (/) or storage (ollamon's storage path)",
            ("host", "mount"),
        )
        self.gpu_gauges = {
            name: self._gauge(f"ollamon_gpu_{name}", text, GPU)
            for name, text in (
                ("utilization_ratio", "GPU utilisation (0-1)"),
                ("memory_used_bytes", "GPU memory in use"),
                ("memory_total_bytes", "GPU memory installed"),
                ("temperature_celsius", "GPU temperature"),
                ("power_draw_watts", "GPU power draw"),
                ("power_limit_watts", "GPU power limit"),
            )
        }
        self.gpu_info = self._gauge(
            "ollamon_gpu_info", "A GPU's name and UUID (always 1)", (*GPU, "name", "uuid")
        )

    def _define_ollama(self) -> None:
        url = ("host", "url")
        self.ollama_up = self._gauge(
            "ollamon_ollama_up", "1 when Ollama answered its last poll", url
        )
        self.ollama_info = self._gauge(
            "ollamon_ollama_info", "Ollama's version (always 1)", (*url, "version")
        )
        self.ollama_probe = self._gauge(
            "ollamon_ollama_probe_duration_seconds", "How long Ollama's version poll took", url
        )
        self.model_loaded = self._gauge(
            "ollamon_model_loaded", "1 for a model loaded now, 0 for one only installed", MODEL
        )
        self.model_size = self._gauge(
            "ollamon_model_size_bytes", "Memory a loaded model takes, VRAM and RAM", MODEL
        )
        self.model_vram = self._gauge(
            "ollamon_model_vram_bytes", "VRAM a loaded model takes", MODEL
        )
        self.model_expiry = self._gauge(
            "ollamon_model_expiry_timestamp_seconds",
            "When a loaded model unloads unless used (Unix time)",
            MODEL,
        )
        self.lifecycle = self._counter(
            "ollamon_model_residency_changes",
            "Models loaded, unloaded, or evicted by another",
            (*MODEL, "change"),
        )

    def _define_service(self) -> None:
        self.build_info = self._gauge(
            "ollamon_build_info", "ollamon's version (always 1)", ("version", "python_version")
        )
        self.build_info.labels(__version__, platform.python_version()).set(1)
        self.alerts_firing = self._gauge(
            "ollamon_alerts_firing", "Alerts firing now", ("host", "severity")
        )
        self.sse_clients = self._gauge("ollamon_sse_clients", "Dashboard stream clients connected")
        self.sse_dropped = Counter(
            "ollamon_sse_frames_dropped",
            "Stream frames dropped for slow clients",
            registry=self.registry,
        )
        # From the notifier: one per settled delivery attempt (outcome delivered, retrying,
        # failed or dead_lettered), by the receiver's configured name.
        self.notifications = self._counter(
            "ollamon_notifications",
            "Notification attempts by receiver and outcome",
            ("receiver", "outcome"),
        )
        service = ("service", "host")
        self.heartbeat = self._gauge(
            "ollamon_service_heartbeat_timestamp_seconds",
            "When a service's latest heartbeat was sent (Unix time)",
            service,
        )
        # From the heartbeats of the services with a disk spool (probe, collector): what
        # waits there while NATS does not acknowledge it (a `telemetry_backlog` alert fires
        # on the same figures).
        self.spool = {
            "spool_events": self._gauge(
                "ollamon_spool_events", "Events waiting in the disk spool", service
            ),
            "spool_bytes": self._gauge(
                "ollamon_spool_bytes", "Size of the disk spool's events", service
            ),
            "spool_oldest_age_seconds": self._gauge(
                "ollamon_spool_oldest_age_seconds",
                "Age of the oldest event in the disk spool (0 when empty)",
                service,
            ),
        }
        self.spool_dropped = {
            counter: ReportedCounter(name, text, service)
            for counter, name, text in (
                ("spool_dropped", "ollamon_spool_dropped_events", "Events the full spool dropped"),
                (
                    "spool_dropped_requests",
                    "ollamon_spool_dropped_requests",
                    "Request events among them",
                ),
            )
        }
        for collector in self.spool_dropped.values():
            self.registry.register(collector)

    def _see_host(self, host: str) -> None:
        """A host's first event: its firing-alert gauges start at 0 for every severity."""
        if host not in self._hosts:
            self._hosts.add(host)
            for severity in Severity:
                self.alerts_firing.labels(host, severity.value).set(0)

    def _model(self, host: str, model: str) -> str:
        """The model label: the name, or OTHER_MODEL past the host's first names."""
        names = self._models.setdefault(host, set())
        if model in names:
            return model
        if len(names) < MAX_MODELS_PER_HOST:
            names.add(model)
            return model
        return OTHER_MODEL

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
                self.score.labels(self._model(event.host, event.model_name), event.host).set(
                    event.score
                )
            case OllamaHealth():
                self._observe_health(event)
                self.backends.observe_health(event)
            case OllamaModelsSnapshot():
                self._observe_models(event)
                self.backends.observe_models(event)
            case ModelLifecycleEvent():
                model = self._model(event.host, event.model_name)
                self.lifecycle.labels(model, event.host, event.change.value).inc()
            case Heartbeat():
                self._observe_heartbeat(event)
            case NotificationDelivery():
                self.notifications.labels(event.receiver, event.outcome.value).inc()

    def _observe_heartbeat(self, heartbeat: Heartbeat) -> None:
        labels = (heartbeat.service.value, heartbeat.host)
        self.heartbeat.labels(*labels).set(heartbeat.timestamp.timestamp())
        if "spool_events" not in heartbeat.counters:
            return  # a service without a spool
        for counter, gauge in self.spool.items():
            gauge.labels(*labels).set(heartbeat.counters.get(counter, 0.0))
        for counter, reported in self.spool_dropped.items():
            reported.set(heartbeat.counters.get(counter, 0.0), *labels)

    def _observe_health(self, event: OllamaHealth) -> None:
        url = redact_url(event.ollama_url)  # a label is kept for good: never a secret
        self.ollama_up.labels(event.host, url).set(1 if event.up else 0)
        if event.response_time_ms is not None:
            self.ollama_probe.labels(event.host, url).set(event.response_time_ms / 1000)
        before = self._versions.get((event.host, url))
        if event.version and event.version != before:
            if before is not None:  # an upgrade: one version a server at a time
                self.ollama_info.remove(event.host, url, before)
            self.ollama_info.labels(event.host, url, event.version).set(1)
            self._versions[(event.host, url)] = event.version

    def _observe_models(self, event: OllamaModelsSnapshot) -> None:
        host = event.host
        key = (host, redact_url(event.ollama_url))
        loaded = {self._model(host, model.name): model for model in event.loaded}
        for gone in self._loaded.get(key, set()) - set(loaded):
            for gauge in (self.model_size, self.model_vram, self.model_expiry):
                with contextlib.suppress(KeyError):  # prometheus-client before 0.21 raised
                    gauge.remove(gone, host)
            self.model_loaded.labels(gone, host).set(0)
        for entry in event.available:
            name = self._model(host, entry.name)
            if name not in loaded:
                self.model_loaded.labels(name, host).set(0)
        for name, model in loaded.items():
            self.model_loaded.labels(name, host).set(1)
            self.model_size.labels(name, host).set(model.size_bytes)
            self.model_vram.labels(name, host).set(model.size_vram_bytes)
            if model.expires_at is not None:
                self.model_expiry.labels(name, host).set(model.expires_at.timestamp())
        self._loaded[key] = set(loaded)

    def _observe_request(self, event: OllamaModelMetrics) -> None:
        labels = (self._model(event.host, event.model_name), event.host)
        outcome = request_outcome(event)
        self.requests.labels(*labels, outcome).inc()
        self.latency.labels(*labels).observe(event.response_time_ms / 1000)
        durations = (
            (self.ttft, event.time_to_first_token_ms),
            (self.gap, event.inter_chunk_gap_mean_ms),
            (self.load, event.load_duration_ms or None),
            (self.prompt_eval, event.prompt_eval_duration_ms or None),
            (self.eval, event.eval_duration_ms or None),
        )
        for histogram, milliseconds in durations:
            if milliseconds is not None:
                histogram.labels(*labels).observe(milliseconds / 1000)
        if event.context_utilization_percent is not None:
            self.context.labels(*labels).observe(event.context_utilization_percent / 100)
        if event.tokens_generated:
            self.tokens_generated.labels(*labels).inc(event.tokens_generated)
            if event.tokens_per_second:
                self.timed_tokens.labels(*labels).inc(event.tokens_generated)
                seconds = event.tokens_generated / event.tokens_per_second
                self.generation_seconds.labels(*labels).inc(seconds)
        if event.tokens_input:
            self.prompt_tokens.labels(*labels).inc(event.tokens_input)

    def _observe_system(self, event: OllamaSystemMetrics) -> None:
        host = event.host

        def ratio(percent: float | None) -> float | None:
            return None if percent is None else percent / 100

        def gib(value: float | None) -> float | None:
            return None if value is None else value * GIB

        def network(mbps: float | None) -> float | None:  # megabits/s
            return None if mbps is None else mbps * MEGA / BITS_PER_BYTE

        def disk(mbps: float | None) -> float | None:  # megabytes/s
            return None if mbps is None else mbps * MEGA

        values: dict[str, float | None] = {
            "cpu_usage_ratio": ratio(event.cpu_usage_percent),
            "memory_usage_ratio": ratio(event.memory_usage_percent),
            "memory_used_bytes": gib(event.memory_used_gb),
            "memory_available_bytes": gib(event.memory_available_gb),
            "memory_total_bytes": gib(event.memory_total_gb),
            "swap_usage_ratio": ratio(event.swap_usage_percent),
            "swap_used_bytes": gib(event.swap_used_gb),
            "load1": event.load_average_1m,
            "load5": event.load_average_5m,
            "load15": event.load_average_15m,
            "network_receive_bytes_per_second": network(event.network_rx_mbps),
            "network_transmit_bytes_per_second": network(event.network_tx_mbps),
            "disk_read_bytes_per_second": disk(event.disk_read_mbps),
            "disk_write_bytes_per_second": disk(event.disk_write_mbps),
        }
        for name, value in values.items():
            if value is not None:
                self.host_gauges[name].labels(host).set(value)
        self.disk.labels(host, "root").set(event.disk_usage_percent / 100)
        if event.storage_disk_usage_percent is not None:
            self.disk.labels(host, "storage").set(event.storage_disk_usage_percent / 100)
        for gpu in event.gpus:
            gpu_values: dict[str, float | None] = {
                "utilization_ratio": ratio(gpu.utilization_percent),
                "memory_used_bytes": gpu.memory_used_bytes,
                "memory_total_bytes": gpu.memory_total_bytes,
                "temperature_celsius": gpu.temperature_celsius,
                "power_draw_watts": gpu.power_draw_watts,
                "power_limit_watts": gpu.power_limit_watts,
            }
            index = str(gpu.index)
            for name, value in gpu_values.items():
                if value is not None:
                    self.gpu_gauges[name].labels(host, index).set(value)
            self.gpu_info.labels(host, index, gpu.name, gpu.uuid).set(1)

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
        """The Prometheus text exposition of every metric.

        `sse_dropped` is the stream's count since the gateway started: the counter takes
        what it grew by since the last scrape.
        """
        self.sse_clients.set(sse_clients)
        if sse_dropped > self._sse_dropped_seen:
            self.sse_dropped.inc(sse_dropped - self._sse_dropped_seen)
            self._sse_dropped_seen = sse_dropped
        return generate_latest(self.registry)
