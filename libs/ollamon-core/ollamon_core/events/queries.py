"""Typed request/reply models for storage queries (`ollamon.query.*`)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from ollamon_core.events.alerts import ModelScore, OllamaPerformanceAlert, Recommendation
from ollamon_core.events.base import FrozenModel, Severity, utc_now
from ollamon_core.events.limits import MAX_HOURS as MAX_HOURS  # the gateway's bound on hours
from ollamon_core.events.limits import (
    FilePath,
    HostLabel,
    Hours,
    JsonInteger,
    ModelName,
)
from ollamon_core.events.ollama import ModelLifecycleEvent
from ollamon_core.events.requests import OllamaModelMetrics
from ollamon_core.events.system import OllamaSystemMetrics


class QueryError(FrozenModel):
    """A query that could not be answered; `status_code` follows HTTP.

    400 bad input, 409 an export or backup file that exists already, 413 an export over
    the row ceiling, 507 the export folder over its quota, 500 a fault of the service.
    """

    error: str
    status_code: int = 400


class ModelSummary(FrozenModel):
    """Aggregates for one model over a period (all hosts unless `host` is set)."""

    model_name: str
    hosts: list[str] = Field(default_factory=list)
    request_count: int = 0
    success_count: int = 0
    error_count: int = 0
    success_rate_percent: float | None = None
    response_time_mean_ms: float | None = None
    response_time_p50_ms: float | None = None
    response_time_p95_ms: float | None = None
    response_time_p99_ms: float | None = None
    time_to_first_token_p50_ms: float | None = None
    time_to_first_token_p95_ms: float | None = None
    time_to_first_token_p99_ms: float | None = None
    tokens_per_second_mean: float | None = None
    load_duration_mean_ms: float | None = None
    cold_start_count: int = 0
    last_used: AwareDatetime | None = None
    score: float | None = None


class SummaryQuery(FrozenModel):
    """Ask for the overall summary of the last `hours`."""

    hours: Hours = 24.0
    recent_alert_limit: JsonInteger = Field(default=20, ge=0, le=1000)


class SummaryReply(FrozenModel):
    """The overall picture: models, latest system sample, alerts, recommendations."""

    generated_at: AwareDatetime = Field(default_factory=utc_now)
    hours: float
    total_requests: int = 0
    models: list[ModelSummary] = Field(default_factory=list)
    latest_system: OllamaSystemMetrics | None = None
    gpu_available: bool = False
    recent_alerts: list[OllamaPerformanceAlert] = Field(default_factory=list)
    active_alerts: list[OllamaPerformanceAlert] = Field(default_factory=list)
    recommendations: list[Recommendation] = Field(default_factory=list)


class ModelMetricsQuery(FrozenModel):
    """Ask for one model's metrics over the last `hours`."""

    model_name: ModelName
    hours: Hours = 24.0
    recent_limit: JsonInteger = Field(default=50, ge=0, le=1000)


class ModelMetricsReply(FrozenModel):
    """One model's aggregates, its latest requests and its latest score."""

    summary: ModelSummary | None = None
    recent: list[OllamaModelMetrics] = Field(default_factory=list)
    latest_score: ModelScore | None = None


class SystemHistoryQuery(FrozenModel):
    """Ask for system samples of the last `hours`, at most `limit` (evenly thinned)."""

    hours: Hours = 1.0
    limit: JsonInteger = Field(default=500, ge=1, le=2000)
    host: HostLabel | None = None


class SystemHistoryReply(FrozenModel):
    """System samples, oldest first."""

    samples: list[OllamaSystemMetrics] = Field(default_factory=list)
    total_in_period: int = 0


class AlertsQuery(FrozenModel):
    """Ask for alert history (newest first) and the alerts firing now."""

    severity: Severity | None = None
    limit: JsonInteger = Field(default=100, ge=1, le=1000)


class AlertsReply(FrozenModel):
    """Alert history and the alerts firing now."""

    alerts: list[OllamaPerformanceAlert] = Field(default_factory=list)
    active: list[OllamaPerformanceAlert] = Field(default_factory=list)


class TrendBucket(StrEnum):
    """Trend resolution."""

    MINUTE = "minute"
    HOUR = "hour"


class TrendsQuery(FrozenModel):
    """Ask for per-minute or per-hour buckets of request metrics."""

    hours: Hours = 6.0
    bucket: TrendBucket = TrendBucket.MINUTE
    model_name: ModelName | None = None


class TrendPoint(FrozenModel):
    """One bucket of one model's requests."""

    bucket_start: AwareDatetime
    model_name: str
    request_count: int
    error_count: int
    response_time_p50_ms: float | None = None
    response_time_p95_ms: float | None = None
    time_to_first_token_p95_ms: float | None = None
    tokens_per_second_mean: float | None = None


class TrendsReply(FrozenModel):
    """Trend buckets, oldest first."""

    points: list[TrendPoint] = Field(default_factory=list)


class LifecycleQuery(FrozenModel):
    """Ask for the model lifecycle timeline."""

    hours: Hours = 24.0
    limit: JsonInteger = Field(default=200, ge=1, le=2000)


class LifecycleReply(FrozenModel):
    """Lifecycle events, newest first."""

    events: list[ModelLifecycleEvent] = Field(default_factory=list)


class ExportFormat(StrEnum):
    """Export file format."""

    JSON = "json"
    CSV = "csv"


class ExportRequest(FrozenModel):
    """Export the history to a new file inside the export folder.

    An existing file is never overwritten (the answer is a 409); no `filepath` picks a
    fresh time-stamped name.
    """

    format: ExportFormat = ExportFormat.JSON
    filepath: FilePath | None = None


class ExportReply(FrozenModel):
    """Where the export went (relative to the storage path) and the rows of each table."""

    path: str = Field(description="The file written, relative to the storage path")
    row_counts: dict[str, int]
    files: list[str] = Field(
        default_factory=list,
        description="Every file written, relative to the storage path (CSV: one per table)",
    )


class CleanupRequest(FrozenModel):
    """Delete history older than `days_to_keep` days."""

    days_to_keep: JsonInteger = Field(default=30, ge=0, le=36600)


class CleanupReply(FrozenModel):
    """Rows deleted per table."""

    deleted: dict[str, int]


class BackupRequest(FrozenModel):
    """Make a consistent online copy of the database, in a new file of the backup folder.

    An existing file is never overwritten (the answer is a 409).
    """

    filepath: FilePath | None = None


class BackupReply(FrozenModel):
    """Where the backup went (relative to the storage path)."""

    path: str = Field(description="The file written, relative to the storage path")
    size_bytes: int
