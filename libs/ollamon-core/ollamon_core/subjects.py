"""Every NATS subject and stream name of ollamon, and the map from subject to model.

This is the one module that spells subjects: `grep subjects` finds every edge of the graph.
Tokens built from model or host names go through `subject_token` first, since NATS tokens
cannot hold `.`, `*`, `>` or whitespace (and `llama3.2:1b` has a dot); the true name always
travels in the payload. Request/reply subjects are `QueryRoute`s (the subject with its
request and reply models), so requests and their handlers are typed from here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ollamon_core.events import (
    AlertAcknowledgement,
    AlertAcknowledgementReply,
    AlertAudit,
    BenchmarkAccepted,
    BenchmarkProgress,
    BenchmarkRequest,
    BenchmarkRun,
    Event,
    HealthCheckReply,
    HealthCheckRequest,
    Heartbeat,
    InFlightRequests,
    ModelLifecycleEvent,
    ModelScore,
    MonitoringControl,
    NotificationDelivery,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    ServiceName,
    Severity,
    Silence,
    SilencesQuery,
    SilencesReply,
    ThresholdsQuery,
    ThresholdsReply,
    ThresholdUpdate,
)
from ollamon_core.events import benchmark_queries as bq
from ollamon_core.events import forecast_queries as fq
from ollamon_core.events import queries as q

PREFIX = "ollamon"

# Events (persisted through the JetStream stream below).
SYSTEM = f"{PREFIX}.system"
REQUESTS_ALL = f"{PREFIX}.requests.>"
OLLAMA_ALL = f"{PREFIX}.ollama.>"
OLLAMA_HEALTH = f"{PREFIX}.ollama.health"
OLLAMA_MODELS = f"{PREFIX}.ollama.models"
OLLAMA_LIFECYCLE = f"{PREFIX}.ollama.lifecycle"
ALERTS_ALL = f"{PREFIX}.alerts.>"
SCORES_ALL = f"{PREFIX}.scores.>"
AUDIT_ALERTING = f"{PREFIX}.audit.alerting"
NOTIFICATIONS_ALL = f"{PREFIX}.notifications.>"
# Finished benchmark runs (the probe's; docs/decisions/0023-benchmark-runner.md).
BENCHMARK_RUNS = f"{PREFIX}.benchmarks.runs"

# Not persisted.
HEARTBEAT_ALL = f"{PREFIX}.heartbeat.>"
# The probe's requests in flight now: a gauge, sent on change and while busy.
IN_FLIGHT = f"{PREFIX}.inflight"
# A benchmark run's progress, step by step.
BENCHMARK_PROGRESS = f"{PREFIX}.benchmarks.progress"
CONTROL_MONITORING = f"{PREFIX}.control.monitoring"
CONTROL_THRESHOLD = f"{PREFIX}.control.alerting.threshold"
CONTROL_SILENCE = f"{PREFIX}.control.alerting.silence"
DEADLETTER_ALL = f"{PREFIX}.deadletter.>"
EVERYTHING = f"{PREFIX}.>"

# JetStream.
STREAM_EVENTS = "OLLAMON"
STREAM_EVENTS_SUBJECTS = [
    REQUESTS_ALL,
    SYSTEM,
    ALERTS_ALL,
    SCORES_ALL,
    OLLAMA_ALL,
    AUDIT_ALERTING,
    NOTIFICATIONS_ALL,
    BENCHMARK_RUNS,
]
# What an edge's stream keeps (its probe's and collector's events), sourced into the hub's
# stream; the hub's stream captures the rest itself (docs/decisions/0011-fleet-topology.md).
EDGE_STREAM_SUBJECTS = [REQUESTS_ALL, SYSTEM, OLLAMA_ALL, BENCHMARK_RUNS]
STREAM_DEADLETTER = "OLLAMON_DEADLETTER"
STREAM_DEADLETTER_SUBJECTS = [DEADLETTER_ALL]
STORAGE_DURABLE = "ollamon-storage"
# The notifier reads the alerts through its own durable consumer.
NOTIFIER_DURABLE = "ollamon-notifier"
ALERT_STATE_BUCKET = "OLLAMON_ALERT_STATE"

_UNSAFE_TOKEN_CHARS = re.compile(r"[^A-Za-z0-9_\-:]")
MAX_TOKEN_LENGTH = 128


def subject_token(name: str) -> str:
    """Make a model or host name safe to use as one NATS subject token.

    Anything outside letters, digits, `_`, `-` and `:` becomes `_`, so `llama3.2:1b`
    becomes `llama3_2:1b`. Distinct names may share a token; payloads carry the true name.
    """
    token = _UNSAFE_TOKEN_CHARS.sub("_", name)[:MAX_TOKEN_LENGTH]
    return token or "_"


def requests_subject(model_name: str) -> str:
    """Subject of request events for one model."""
    return f"{PREFIX}.requests.{subject_token(model_name)}"


def alerts_subject(severity: Severity) -> str:
    """Subject of alerts of one severity (public contract)."""
    return f"{PREFIX}.alerts.{Severity(severity).value}"


def scores_subject(model_name: str) -> str:
    """Subject of score events for one model."""
    return f"{PREFIX}.scores.{subject_token(model_name)}"


def notifications_subject(receiver: str) -> str:
    """Subject of the delivery outcomes of one receiver (by its configured name)."""
    return f"{PREFIX}.notifications.{subject_token(receiver)}"


def heartbeat_subject(service: ServiceName) -> str:
    """Subject of one service's heartbeats."""
    return f"{PREFIX}.heartbeat.{ServiceName(service).value}"


def deadletter_subject(service: ServiceName) -> str:
    """Subject where one service dead-letters messages it could not use."""
    return f"{PREFIX}.deadletter.{ServiceName(service).value}"


# Events whose subject depends on their type alone.
_FIXED_SUBJECTS: dict[type[Event], str] = {
    OllamaSystemMetrics: SYSTEM,
    OllamaHealth: OLLAMA_HEALTH,
    OllamaModelsSnapshot: OLLAMA_MODELS,
    ModelLifecycleEvent: OLLAMA_LIFECYCLE,
    MonitoringControl: CONTROL_MONITORING,
    ThresholdUpdate: CONTROL_THRESHOLD,
    Silence: CONTROL_SILENCE,
    AlertAudit: AUDIT_ALERTING,
    InFlightRequests: IN_FLIGHT,
    BenchmarkRun: BENCHMARK_RUNS,
    BenchmarkProgress: BENCHMARK_PROGRESS,
}


def subject_for(event: Event) -> str:
    """The subject an event is published on, from its type and content."""
    match event:
        case OllamaModelMetrics():
            return requests_subject(event.model_name)
        case OllamaPerformanceAlert():
            return alerts_subject(event.severity)
        case ModelScore():
            return scores_subject(event.model_name)
        case NotificationDelivery():
            return notifications_subject(event.receiver)
        case Heartbeat():
            return heartbeat_subject(event.service)
    fixed = _FIXED_SUBJECTS.get(type(event))
    if fixed is not None:
        return fixed
    raise ValueError(f"no subject for {type(event).__name__}")


# Subject pattern -> the model every message on it must validate as.
SUBJECT_MODELS: dict[str, type[BaseModel]] = {
    REQUESTS_ALL: OllamaModelMetrics,
    SYSTEM: OllamaSystemMetrics,
    ALERTS_ALL: OllamaPerformanceAlert,
    SCORES_ALL: ModelScore,
    AUDIT_ALERTING: AlertAudit,
    NOTIFICATIONS_ALL: NotificationDelivery,
    OLLAMA_HEALTH: OllamaHealth,
    OLLAMA_MODELS: OllamaModelsSnapshot,
    OLLAMA_LIFECYCLE: ModelLifecycleEvent,
    HEARTBEAT_ALL: Heartbeat,
    IN_FLIGHT: InFlightRequests,
    BENCHMARK_RUNS: BenchmarkRun,
    BENCHMARK_PROGRESS: BenchmarkProgress,
    CONTROL_MONITORING: MonitoringControl,
    CONTROL_THRESHOLD: ThresholdUpdate,
    CONTROL_SILENCE: Silence,
}


RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=BaseModel)


@dataclass(frozen=True)
class QueryRoute(Generic[RequestT, ReplyT]):
    """A request/reply subject with its request and reply models.

    `bus.request(route, query)` is typed by it: the query must be a `RequestT` and the
    answer is a `ReplyT`; `bus.serve(route, handler)` takes a handler from one to the other.
    """

    subject: str
    request: type[RequestT]
    reply: type[ReplyT]


# Storage queries (request/reply).
QUERY_SUMMARY = QueryRoute(f"{PREFIX}.query.summary", q.SummaryQuery, q.SummaryReply)
QUERY_MODEL_METRICS = QueryRoute(
    f"{PREFIX}.query.model_metrics", q.ModelMetricsQuery, q.ModelMetricsReply
)
QUERY_SYSTEM_HISTORY = QueryRoute(
    f"{PREFIX}.query.system_history", q.SystemHistoryQuery, q.SystemHistoryReply
)
QUERY_ALERTS = QueryRoute(f"{PREFIX}.query.alerts", q.AlertsQuery, q.AlertsReply)
QUERY_TRENDS = QueryRoute(f"{PREFIX}.query.trends", q.TrendsQuery, q.TrendsReply)
QUERY_LIFECYCLE = QueryRoute(f"{PREFIX}.query.lifecycle", q.LifecycleQuery, q.LifecycleReply)
QUERY_EXPORT = QueryRoute(f"{PREFIX}.query.export", q.ExportRequest, q.ExportReply)
QUERY_EXPORT_CHUNK = QueryRoute(
    f"{PREFIX}.query.export_chunk", q.ExportChunkRequest, q.ExportChunkReply
)
QUERY_CLEANUP = QueryRoute(f"{PREFIX}.query.cleanup", q.CleanupRequest, q.CleanupReply)
QUERY_BACKUP = QueryRoute(f"{PREFIX}.query.backup", q.BackupRequest, q.BackupReply)
# Stored benchmark runs with their ranking and version comparisons.
QUERY_BENCHMARKS = QueryRoute(f"{PREFIX}.query.benchmarks", bq.BenchmarksQuery, bq.BenchmarksReply)
QUERY_FORECASTS = QueryRoute(f"{PREFIX}.query.forecasts", fq.ForecastsQuery, fq.ForecastsReply)
# Every storage query (storage alone answers them).
QUERY_ALL = f"{PREFIX}.query.*"

# The probe checks every Ollama server now (request/reply, not persisted).
CONTROL_HEALTH_CHECK = QueryRoute(
    f"{PREFIX}.control.health_check", HealthCheckRequest, HealthCheckReply
)

# Start a benchmark run on the probe (request/reply; progress and the run follow as events).
# Any probe answers it (one queue group); a request naming a host goes to that host's probe
# alone, on its own route (`benchmark_route`), which each probe serves besides this one.
CONTROL_BENCHMARK = QueryRoute(f"{PREFIX}.control.benchmark", BenchmarkRequest, BenchmarkAccepted)
# Every host's benchmark route (`ollamon.control.benchmark.<host token>`).
CONTROL_BENCHMARK_HOSTS = f"{CONTROL_BENCHMARK.subject}.*"


def host_route_token(host: str) -> str:
    """One token naming exactly one host: the label itself when it is a safe token (`gpu-a`),
    else its `subject_token` with a hash of the label, so no two labels share a route."""
    token = subject_token(host)
    if token == host:
        return token
    digest = hashlib.sha256(host.encode()).hexdigest()[:16]
    return f"{token[:100]}-{digest}"


def benchmark_route(host: str | None) -> QueryRoute[BenchmarkRequest, BenchmarkAccepted]:
    """Where a benchmark request goes: `host`'s probe alone, or any probe when None."""
    if host is None:
        return CONTROL_BENCHMARK
    return QueryRoute(
        f"{CONTROL_BENCHMARK.subject}.{host_route_token(host)}",
        BenchmarkRequest,
        BenchmarkAccepted,
    )


# Alerting's management (request/reply, not persisted; the changes are audited on
# AUDIT_ALERTING): acknowledge a firing alert, list the silences in force, the thresholds.
CONTROL_ACK = QueryRoute(
    f"{PREFIX}.control.alerting.ack", AlertAcknowledgement, AlertAcknowledgementReply
)
CONTROL_SILENCES = QueryRoute(f"{PREFIX}.control.alerting.silences", SilencesQuery, SilencesReply)
CONTROL_THRESHOLDS = QueryRoute(
    f"{PREFIX}.control.alerting.thresholds", ThresholdsQuery, ThresholdsReply
)

QUERY_ROUTES: dict[str, QueryRoute[Any, Any]] = {
    route.subject: route
    for route in (
        QUERY_SUMMARY,
        QUERY_MODEL_METRICS,
        QUERY_SYSTEM_HISTORY,
        QUERY_ALERTS,
        QUERY_TRENDS,
        QUERY_LIFECYCLE,
        QUERY_EXPORT,
        QUERY_EXPORT_CHUNK,
        QUERY_CLEANUP,
        QUERY_BACKUP,
        QUERY_BENCHMARKS,
        QUERY_FORECASTS,
        CONTROL_HEALTH_CHECK,
        CONTROL_BENCHMARK,
        CONTROL_ACK,
        CONTROL_SILENCES,
        CONTROL_THRESHOLDS,
    )
}


def subject_matches(pattern: str, subject: str) -> bool:
    """True when `subject` matches a NATS `pattern` with `*` and `>` wildcards."""
    pattern_tokens = pattern.split(".")
    subject_tokens = subject.split(".")
    for index, token in enumerate(pattern_tokens):
        if token == ">":  # noqa: S105 (a wildcard, not a password)
            return len(subject_tokens) > index
        if index >= len(subject_tokens):
            return False
        if token not in ("*", subject_tokens[index]):
            return False
    return len(pattern_tokens) == len(subject_tokens)


def model_for_subject(subject: str) -> type[BaseModel] | None:
    """The model messages on `subject` must validate as, or None if it carries none."""
    for pattern, model in SUBJECT_MODELS.items():
        if subject_matches(pattern, subject):
            return model
    return None
