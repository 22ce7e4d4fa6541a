"""Typed request/reply models for storage queries (`ollamon.query.*`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, BeforeValidator, ConfigDict, Field, model_validator

from ollamon_core.events.alert_management import AlertAudit
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
from ollamon_core.events.notifications import NotificationDelivery
from ollamon_core.events.ollama import ModelLifecycleEvent, OllamaHealth
from ollamon_core.events.requests import OllamaModelMetrics
from ollamon_core.events.system import OllamaSystemMetrics


class QueryError(FrozenModel):
    """A query that could not be answered; `status_code` follows HTTP.

    400 bad input, 404 a host storage has stored nothing of, 409 an export or backup file
    that exists already, 413 an export over the row ceiling, 507 the export folder over its
    quota, 500 a fault of the service.
    """

    error: str
    status_code: int = 400


HOST_FILTER = "Only this host's data (a label storage has stored events of; else a 404)"


class ModelSummary(FrozenModel):
    """Aggregates for one model on one host over a period (`host` None: every host merged)."""

    model_name: str
    host: str | None = None
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
    queue_wait_mean_ms: float | None = Field(
        default=None, description="Mean load_duration of requests whose model was resident"
    )
    cold_load_mean_ms: float | None = Field(
        default=None, description="Mean load_duration of cold starts (the model loaded)"
    )
    last_used: AwareDatetime | None = None
    score: float | None = None


class SummaryQuery(FrozenModel):
    """Ask for the overall summary of the last `hours`."""

    hours: Hours = 24.0
    recent_alert_limit: JsonInteger = Field(default=20, ge=0, le=1000)
    host: HostLabel | None = Field(default=None, description=HOST_FILTER)


class HostSummary(FrozenModel):
    """One host: its latest system sample, its Ollama servers, its requests and alerts."""

    host: str
    first_seen: AwareDatetime
    last_seen: AwareDatetime = Field(description="The newest stored event of any kind")
    reporting: bool = Field(
        description="Its newest stored event is at most 300 seconds old (by its timestamp)"
    )
    latest_system: OllamaSystemMetrics | None = None
    gpu_available: bool = False
    ollama: list[OllamaHealth] = Field(
        default_factory=list, description="The latest health of each Ollama server it polls"
    )
    ollama_up: bool | None = Field(
        default=None, description="Every Ollama server of the host answered (None: never heard)"
    )
    model_count: int = 0
    request_count: int = 0
    error_count: int = 0
    bypassed_requests: int = Field(
        default=0,
        description="Requests of the period only Ollama's server log saw: they bypassed the "
        "proxy (source log; counted in request_count too)",
    )
    active_alert_count: int = 0


class FleetRollup(FrozenModel):
    """The hosts in view together."""

    host_count: int = 0
    hosts_reporting: int = 0
    hosts_with_gpu: int = 0
    hosts_ollama_down: int = 0
    model_count: int = Field(default=0, description="Distinct model names with requests")
    total_requests: int = 0
    total_errors: int = 0
    active_alerts: int = 0


class SummaryReply(FrozenModel):
    """The overall picture: models per host, hosts, alerts, recommendations.

    `latest_system` and `gpu_available` are the chosen host's; without a host, the only
    host's sample (None when storage knows several) and whether any host has a GPU.
    """

    generated_at: AwareDatetime = Field(default_factory=utc_now)
    hours: float
    host: str | None = None
    total_requests: int = 0
    bypassed_requests: int = Field(
        default=0,
        description="Of total_requests, those that bypassed the proxy (each host's in hosts)",
    )
    models: list[ModelSummary] = Field(
        default_factory=list, description="One row per (host, model), by model then host"
    )
    hosts: list[HostSummary] = Field(default_factory=list)
    fleet: FleetRollup = Field(default_factory=FleetRollup)
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
    host: HostLabel | None = Field(default=None, description=HOST_FILTER)


class ModelMetricsReply(FrozenModel):
    """One model's aggregates, per host too, its latest requests and the host's latest score.

    Without a host, `summary` merges every host (`host` None, `score` only when one host
    served the model) and `latest_score` is the only host's (None when several).
    """

    summary: ModelSummary | None = None
    by_host: list[ModelSummary] = Field(default_factory=list)
    recent: list[OllamaModelMetrics] = Field(default_factory=list)
    latest_score: ModelScore | None = None


class SystemHistoryQuery(FrozenModel):
    """Ask for system samples of the last `hours`, at most `limit` (evenly thinned)."""

    hours: Hours = 1.0
    limit: JsonInteger = Field(default=500, ge=1, le=2000)
    host: HostLabel | None = Field(default=None, description=HOST_FILTER)


class SystemHistoryReply(FrozenModel):
    """System samples, oldest first; without a host each host is thinned to its share."""

    samples: list[OllamaSystemMetrics] = Field(default_factory=list)
    total_in_period: int = 0


class AlertsQuery(FrozenModel):
    """Ask for alert history (newest first) and the alerts firing now."""

    severity: Severity | None = None
    limit: JsonInteger = Field(default=100, ge=1, le=1000)
    host: HostLabel | None = Field(default=None, description=HOST_FILTER)
    audit_limit: JsonInteger = Field(
        default=50, ge=0, le=1000, description="Most audit entries (every host's)"
    )
    delivery_limit: JsonInteger = Field(
        default=50, ge=0, le=500, description="Most notification delivery outcomes"
    )


class AlertsReply(FrozenModel):
    """Alert history, the alerts firing now, and the audit trail of alerting's management
    (threshold changes, silences made and expired, acknowledgements), newest first."""

    alerts: list[OllamaPerformanceAlert] = Field(default_factory=list)
    active: list[OllamaPerformanceAlert] = Field(default_factory=list)
    audit: list[AlertAudit] = Field(default_factory=list)
    deliveries: list[NotificationDelivery] = Field(
        default_factory=list,
        description="What became of the latest notification attempts (the delivery log)",
    )


class TrendBucket(StrEnum):
    """Trend resolution."""

    MINUTE = "minute"
    HOUR = "hour"


class TrendsQuery(FrozenModel):
    """Ask for per-minute or per-hour buckets of request metrics."""

    hours: Hours = 6.0
    bucket: TrendBucket = TrendBucket.MINUTE
    model_name: ModelName | None = None
    host: HostLabel | None = Field(default=None, description=HOST_FILTER)


class TrendPoint(FrozenModel):
    """One bucket of one model's requests on one host (hosts are never merged)."""

    bucket_start: AwareDatetime
    host: str
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
    host: HostLabel | None = Field(default=None, description=HOST_FILTER)


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


# The most bytes of an export file one chunk reply carries (base64 in JSON: ~350 KB,
# well under NATS's 1 MB max_payload).
EXPORT_CHUNK_BYTES = 256 * 1024


class ExportChunkRequest(FrozenModel):
    """A piece of an export file storage wrote, for the gateway to stream it to a client.

    `path` is as an `ExportReply` names it (relative to the storage path); storage reads
    only regular files inside its export folder.
    """

    path: FilePath
    offset: JsonInteger = Field(default=0, ge=0)
    length: JsonInteger = Field(default=EXPORT_CHUNK_BYTES, gt=0, le=EXPORT_CHUNK_BYTES)


class ExportChunkReply(FrozenModel):
    """The bytes at `offset` (fewer than asked at the end of the file) and the file's size.

    `data` travels as base64 in the JSON.
    """

    model_config = FrozenModel.model_config | ConfigDict(
        ser_json_bytes="base64", val_json_bytes="base64"
    )

    size: int = Field(ge=0, description="The whole file's size in bytes")
    offset: int = Field(ge=0)
    data: bytes


def _json_boolean(value: object) -> object:
    if not isinstance(value, bool):
        raise ValueError("must be a JSON boolean (true or false)")
    return value


class CleanupRequest(FrozenModel):
    """Delete history older than `days_to_keep` days.

    `days_to_keep: 0` deletes the whole history: it is refused unless `confirm` is true.
    """

    days_to_keep: JsonInteger = Field(default=30, ge=0, le=36600)
    confirm: Annotated[bool, BeforeValidator(_json_boolean)] = Field(
        default=False, description="Must be true when days_to_keep is 0 (deletes everything)"
    )

    @model_validator(mode="after")
    def _zero_needs_confirm(self) -> Self:
        if self.days_to_keep == 0 and not self.confirm:
            raise ValueError(
                "days_to_keep 0 deletes the whole history: send confirm: true to mean it"
            )
        return self


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
