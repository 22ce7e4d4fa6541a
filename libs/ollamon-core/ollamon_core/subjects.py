"""Every NATS subject and stream name of ollamon, and the map from subject to model.

This is the one module that spells subjects: `grep subjects` finds every edge of the graph.
Tokens built from model or host names go through `subject_token` first, since NATS tokens
cannot hold `.`, `*`, `>` or whitespace (and `llama3.2:1b` has a dot); the true name always
travels in the payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from ollamon_core.events import (
    Event,
    HealthCheckReply,
    HealthCheckRequest,
    Heartbeat,
    ModelLifecycleEvent,
    ModelScore,
    MonitoringControl,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    ServiceName,
    Severity,
    Silence,
    ThresholdUpdate,
)
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

# Not persisted.
HEARTBEAT_ALL = f"{PREFIX}.heartbeat.>"
CONTROL_MONITORING = f"{PREFIX}.control.monitoring"
CONTROL_THRESHOLD = f"{PREFIX}.control.alerting.threshold"
CONTROL_SILENCE = f"{PREFIX}.control.alerting.silence"
CONTROL_HEALTH_CHECK = f"{PREFIX}.control.health_check"
DEADLETTER_ALL = f"{PREFIX}.deadletter.>"
EVERYTHING = f"{PREFIX}.>"

# Storage queries (request/reply).
QUERY_SUMMARY = f"{PREFIX}.query.summary"
QUERY_MODEL_METRICS = f"{PREFIX}.query.model_metrics"
QUERY_SYSTEM_HISTORY = f"{PREFIX}.query.system_history"
QUERY_ALERTS = f"{PREFIX}.query.alerts"
QUERY_TRENDS = f"{PREFIX}.query.trends"
QUERY_LIFECYCLE = f"{PREFIX}.query.lifecycle"
QUERY_EXPORT = f"{PREFIX}.query.export"
QUERY_CLEANUP = f"{PREFIX}.query.cleanup"
QUERY_BACKUP = f"{PREFIX}.query.backup"

# JetStream.
STREAM_EVENTS = "OLLAMON"
STREAM_EVENTS_SUBJECTS = [REQUESTS_ALL, SYSTEM, ALERTS_ALL, SCORES_ALL, OLLAMA_ALL]
STREAM_DEADLETTER = "OLLAMON_DEADLETTER"
STREAM_DEADLETTER_SUBJECTS = [DEADLETTER_ALL]
STORAGE_DURABLE = "ollamon-storage"
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


def heartbeat_subject(service: ServiceName) -> str:
    """Subject of one service's heartbeats."""
    return f"{PREFIX}.heartbeat.{ServiceName(service).value}"


def deadletter_subject(service: ServiceName) -> str:
    """Subject where one service dead-letters messages it could not use."""
    return f"{PREFIX}.deadletter.{ServiceName(service).value}"


def subject_for(event: Event) -> str:
    """The subject an event is published on, from its type and content."""
    match event:
        case OllamaModelMetrics():
            return requests_subject(event.model_name)
        case OllamaSystemMetrics():
            return SYSTEM
        case OllamaPerformanceAlert():
            return alerts_subject(event.severity)
        case ModelScore():
            return scores_subject(event.model_name)
        case OllamaHealth():
            return OLLAMA_HEALTH
        case OllamaModelsSnapshot():
            return OLLAMA_MODELS
        case ModelLifecycleEvent():
            return OLLAMA_LIFECYCLE
        case Heartbeat():
            return heartbeat_subject(event.service)
        case MonitoringControl():
            return CONTROL_MONITORING
        case ThresholdUpdate():
            return CONTROL_THRESHOLD
        case Silence():
            return CONTROL_SILENCE
    raise ValueError(f"no subject for {type(event).__name__}")


# Subject pattern -> the model every message on it must validate as.
SUBJECT_MODELS: dict[str, type[BaseModel]] = {
    REQUESTS_ALL: OllamaModelMetrics,
    SYSTEM: OllamaSystemMetrics,
    ALERTS_ALL: OllamaPerformanceAlert,
    SCORES_ALL: ModelScore,
    OLLAMA_HEALTH: OllamaHealth,
    OLLAMA_MODELS: OllamaModelsSnapshot,
    OLLAMA_LIFECYCLE: ModelLifecycleEvent,
    HEARTBEAT_ALL: Heartbeat,
    CONTROL_MONITORING: MonitoringControl,
    CONTROL_THRESHOLD: ThresholdUpdate,
    CONTROL_SILENCE: Silence,
}


@dataclass(frozen=True)
class QueryRoute:
    """A request/reply subject with its request and reply models."""

    subject: str
    request: type[BaseModel]
    reply: type[BaseModel]


QUERY_ROUTES: dict[str, QueryRoute] = {
    route.subject: route
    for route in (
        QueryRoute(QUERY_SUMMARY, q.SummaryQuery, q.SummaryReply),
        QueryRoute(QUERY_MODEL_METRICS, q.ModelMetricsQuery, q.ModelMetricsReply),
        QueryRoute(QUERY_SYSTEM_HISTORY, q.SystemHistoryQuery, q.SystemHistoryReply),
        QueryRoute(QUERY_ALERTS, q.AlertsQuery, q.AlertsReply),
        QueryRoute(QUERY_TRENDS, q.TrendsQuery, q.TrendsReply),
        QueryRoute(QUERY_LIFECYCLE, q.LifecycleQuery, q.LifecycleReply),
        QueryRoute(QUERY_EXPORT, q.ExportRequest, q.ExportReply),
        QueryRoute(QUERY_CLEANUP, q.CleanupRequest, q.CleanupReply),
        QueryRoute(QUERY_BACKUP, q.BackupRequest, q.BackupReply),
        QueryRoute(CONTROL_HEALTH_CHECK, HealthCheckRequest, HealthCheckReply),
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
