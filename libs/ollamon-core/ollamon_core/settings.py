"""Settings of every ollamon service, read from the environment by pydantic-settings.

One class per service, built once at the service's entry point and passed down. Names of
the original specification keep working (`OLLAMA_PERFORMANCE_STORAGE_PATH`,
`OLLAMA_MONITORING_INTERVAL`). `settings_table()` renders the README's configuration table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ollamon_core.events.base import default_host_label

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_STORAGE_PATH = Path("ollamon-data")


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


def _storage_path_field() -> Any:
    return Field(
        default=DEFAULT_STORAGE_PATH,
        validation_alias=_env("OLLAMA_PERFORMANCE_STORAGE_PATH", "OLLAMON_STORAGE_PATH"),
        description="Folder for the SQLite database, exports, backups and embedded NATS data",
    )


def _monitoring_interval_field() -> Any:
    return Field(
        default=5.0,
        gt=0,
        validation_alias=_env("OLLAMA_MONITORING_INTERVAL", "OLLAMON_MONITORING_INTERVAL"),
        description="Seconds between system samples (collector) and Ollama polls (probe)",
    )


class ServiceSettings(BaseSettings):
    """What every service needs: where NATS is, and which host it speaks for."""

    model_config = SettingsConfigDict(
        env_prefix="OLLAMON_", extra="ignore", populate_by_name=True, frozen=True
    )

    nats_url: str = Field(
        default=DEFAULT_NATS_URL,
        description="NATS server URL(s), comma-separated for a cluster",
    )
    host_label: str = Field(
        default_factory=default_host_label,
        description="Host label put on every event this service publishes",
    )
    heartbeat_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias=_env("OLLAMON_HEARTBEAT_INTERVAL"),
        description="Seconds between heartbeats of each service",
    )
    nats_request_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias=_env("OLLAMON_NATS_REQUEST_TIMEOUT"),
        description="Timeout of every NATS request/reply",
    )
    log_level: str = Field(default="INFO", description="Python log level of the services")


class CollectorSettings(ServiceSettings):
    """Settings of the collector."""

    monitoring_interval_seconds: float = _monitoring_interval_field()
    storage_path: Path = _storage_path_field()
    process_rescan_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest time between two scans of all processes for Ollama's server and "
        "runners (also rescanned when a tracked one exits or the loaded models change)",
    )
    connections_fallback_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Where /proc/net/snmp is missing, how long a psutil.net_connections() "
        "count of active TCP connections is reused (that call is expensive)",
    )


def _split_urls(value: object) -> object:
    if isinstance(value, str):
        return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
    return value


class ProbeSettings(ServiceSettings):
    """Settings of the probe (watcher and proxy)."""

    # NoDecode: the variable is a comma-separated list, not JSON (split by the validator).
    ollama_urls: Annotated[list[str], NoDecode] = Field(
        default=["http://127.0.0.1:11434"],
        validation_alias=_env("OLLAMON_OLLAMA_URL", "OLLAMON_OLLAMA_URLS"),
        description="Ollama server URL(s), comma-separated; the proxy forwards to the first",
    )
    proxy_host: str = Field(default="127.0.0.1", description="Address the Ollama proxy binds")
    proxy_port: int = Field(default=11435, ge=0, le=65535, description="Port of the Ollama proxy")
    monitoring_interval_seconds: float = _monitoring_interval_field()
    upstream_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        validation_alias=_env("OLLAMON_UPSTREAM_TIMEOUT"),
        description="Longest the proxy waits on Ollama for one read",
    )

    @field_validator("ollama_urls", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_urls(value)


class AlertingSettings(ServiceSettings):
    """Settings of alerting: thresholds of the specification and lifecycle timing."""

    response_time_ms: float = Field(
        default=30000.0,
        gt=0,
        validation_alias=_env("OLLAMON_ALERT_RESPONSE_TIME_MS"),
        description="Slow-response threshold (ms)",
    )
    model_load_time_ms: float = Field(
        default=60000.0,
        gt=0,
        validation_alias=_env("OLLAMON_ALERT_MODEL_LOAD_TIME_MS"),
        description="Model-load threshold: a request's load_duration (ms)",
    )
    context_length_utilization: float = Field(
        default=90.0,
        gt=0,
        le=100,
        validation_alias=_env("OLLAMON_ALERT_CONTEXT_LENGTH_UTILIZATION"),
        description="Context-overflow threshold: percent of num_ctx a request used",
    )
    error_rate_percent: float = Field(
        default=10.0,
        gt=0,
        le=100,
        validation_alias=_env("OLLAMON_ALERT_ERROR_RATE_PERCENT"),
        description="Low-success-rate threshold: percent of failed requests in the window",
    )
    memory_usage_percent: float = Field(
        default=95.0,
        gt=0,
        le=100,
        validation_alias=_env("OLLAMON_ALERT_MEMORY_USAGE_PERCENT"),
        description="High-memory threshold (percent of host memory used)",
    )
    cpu_usage_percent: float = Field(
        default=98.0,
        gt=0,
        le=100,
        validation_alias=_env("OLLAMON_ALERT_CPU_USAGE_PERCENT"),
        description="High-CPU threshold (percent)",
    )
    gpu_usage_percent: float = Field(
        default=95.0,
        gt=0,
        le=100,
        validation_alias=_env("OLLAMON_ALERT_GPU_USAGE_PERCENT"),
        description="High-GPU threshold (percent utilisation)",
    )
    disk_usage_percent: float = Field(
        default=90.0,
        gt=0,
        le=100,
        validation_alias=_env("OLLAMON_ALERT_DISK_USAGE_PERCENT"),
        description="Disk-space threshold (percent of the disk used)",
    )
    time_to_first_token_p95_ms: float = Field(
        default=10000.0,
        gt=0,
        validation_alias=_env("OLLAMON_ALERT_TTFT_P95_MS"),
        description="Time-to-first-token threshold: p95 over the window (ms)",
    )
    tokens_per_second_drop_percent: float = Field(
        default=30.0,
        gt=0,
        le=100,
        validation_alias=_env("OLLAMON_ALERT_TOKENS_PER_SECOND_DROP_PERCENT"),
        description="Tokens/s regression threshold: percent below the model's own baseline",
    )
    cpu_offload_percent: float = Field(
        default=0.0,
        ge=0,
        lt=100,
        validation_alias=_env("OLLAMON_ALERT_CPU_OFFLOAD_PERCENT"),
        description="Partial-offload threshold: percent of a loaded model outside VRAM",
    )
    window_seconds: float = Field(
        default=300.0,
        gt=0,
        validation_alias=_env("OLLAMON_ALERT_WINDOW_SECONDS"),
        description="Sliding window of the success-rate, TTFT p95, tokens/s rules and scores",
    )
    min_requests: int = Field(
        default=10,
        ge=1,
        validation_alias=_env("OLLAMON_ALERT_MIN_REQUESTS"),
        description="Requests a window needs before its success-rate, TTFT and tokens/s rules act",
    )
    baseline_min_samples: int = Field(
        default=20,
        ge=1,
        validation_alias=_env("OLLAMON_ALERT_BASELINE_MIN_SAMPLES"),
        description="Requests that set a model's tokens/s baseline (median) on a host",
    )
    for_seconds: float = Field(
        default=30.0,
        ge=0,
        validation_alias=_env("OLLAMON_ALERT_FOR_SECONDS"),
        description="How long a condition must hold (pending) before the alert fires",
    )
    resolve_seconds: float = Field(
        default=60.0,
        ge=0,
        validation_alias=_env("OLLAMON_ALERT_RESOLVE_SECONDS"),
        description="How long a firing alert must stay below its resolve level before resolving",
    )
    hysteresis_percent: float = Field(
        default=10.0,
        ge=0,
        lt=100,
        validation_alias=_env("OLLAMON_ALERT_HYSTERESIS_PERCENT"),
        description="Resolve level: a value must fall to threshold x (1 - this/100) or below",
    )
    repeat_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        validation_alias=_env("OLLAMON_ALERT_REPEAT_INTERVAL_SECONDS"),
        description="Seconds between repeat notifications of a still-firing alert",
    )
    stale_seconds: float = Field(
        default=600.0,
        gt=0,
        validation_alias=_env("OLLAMON_ALERT_STALE_SECONDS"),
        description="A condition with no new data for this long counts as cleared",
    )
    evaluation_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        validation_alias=_env("OLLAMON_ALERT_EVALUATION_INTERVAL"),
        description="Seconds between evaluations of pending, resolving and windowed alerts",
    )
    score_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias=_env("OLLAMON_ALERT_SCORE_INTERVAL"),
        description="Seconds between ModelScore publications",
    )


class StorageSettings(ServiceSettings):
    """Settings of storage."""

    storage_path: Path = _storage_path_field()
    batch_size: int = Field(
        default=500,
        ge=1,
        validation_alias=_env("OLLAMON_STORAGE_BATCH_SIZE"),
        description="Rows per SQLite transaction at most",
    )
    batch_interval_seconds: float = Field(
        default=0.05,
        gt=0,
        validation_alias=_env("OLLAMON_STORAGE_BATCH_INTERVAL"),
        description="Longest a received event waits before its batch commits",
    )
    retention_days: int = Field(
        default=30,
        ge=1,
        validation_alias=_env("OLLAMON_STORAGE_RETENTION_DAYS"),
        description="Days of history kept in SQLite and in the JetStream stream (max age)",
    )
    cleanup_interval_seconds: float = Field(
        default=600.0,
        gt=0,
        validation_alias=_env("OLLAMON_STORAGE_CLEANUP_INTERVAL"),
        description="Seconds between scheduled cleanups (retention days and row caps)",
    )
    max_request_rows: int = Field(
        default=1_000_000,
        ge=1,
        validation_alias=_env("OLLAMON_STORAGE_MAX_REQUEST_ROWS"),
        description="Most raw request rows kept (oldest deleted first; rollups stay)",
    )
    max_system_rows: int = Field(
        default=600_000,
        ge=1,
        validation_alias=_env("OLLAMON_STORAGE_MAX_SYSTEM_ROWS"),
        description="Most system samples kept (oldest deleted first)",
    )
    max_alert_rows: int = Field(
        default=10_000,
        ge=1,
        validation_alias=_env("OLLAMON_STORAGE_MAX_ALERT_ROWS"),
        description="Most alert history rows kept (oldest deleted first)",
    )
    max_other_rows: int = Field(
        default=200_000,
        ge=1,
        validation_alias=_env("OLLAMON_STORAGE_MAX_OTHER_ROWS"),
        description="Most rows kept in each of the scores, lifecycle and health tables",
    )
    export_dir_name: str = Field(
        default="exports",
        min_length=1,
        validation_alias=_env("OLLAMON_STORAGE_EXPORT_DIR"),
        description="Folder under the storage path that exports are confined to",
    )
    backup_dir_name: str = Field(
        default="backups",
        min_length=1,
        validation_alias=_env("OLLAMON_STORAGE_BACKUP_DIR"),
        description="Folder under the storage path that backups are confined to",
    )

    @property
    def database_path(self) -> Path:
        """The SQLite file."""
        return self.storage_path / "ollamon.db"

    @property
    def export_path(self) -> Path:
        """The folder every export is written inside."""
        return self.storage_path / self.export_dir_name

    @property
    def backup_path(self) -> Path:
        """The folder every backup is written inside."""
        return self.storage_path / self.backup_dir_name


class GatewaySettings(ServiceSettings):
    """Settings of the gateway."""

    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway binds")
    gateway_port: int = Field(default=8000, ge=0, le=65535, description="Port of the gateway")
    api_token: str | None = Field(
        default=None, description="When set, every POST needs `Authorization: Bearer <token>`"
    )
    monitoring_interval_seconds: float = _monitoring_interval_field()
    sse_buffer_size: int = Field(
        default=1000,
        ge=1,
        validation_alias=_env("OLLAMON_SSE_BUFFER_SIZE"),
        description="Latest stream events the gateway keeps for `Last-Event-ID` replay",
    )
    sse_client_queue_size: int = Field(
        default=500,
        ge=1,
        validation_alias=_env("OLLAMON_SSE_CLIENT_QUEUE_SIZE"),
        description="Events queued per stream client before its oldest are dropped",
    )
    sse_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        validation_alias=_env("OLLAMON_SSE_HEARTBEAT"),
        description="Seconds between comment heartbeats on an idle stream",
    )
    export_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias=_env("OLLAMON_EXPORT_TIMEOUT"),
        description="Longest the gateway waits for storage to finish an export or cleanup",
    )


class StackSettings(ServiceSettings):
    """Settings of `ollamon up`, the one-machine launcher."""

    nats_url: str = Field(
        default="",
        description="NATS server URL(s), comma-separated for a cluster",
    )
    storage_path: Path = _storage_path_field()
    embedded_nats_port: int = Field(
        default=4222,
        ge=0,
        le=65535,
        description="Port of the embedded NATS server when OLLAMON_NATS_URL is not set",
    )
    proxy_host: str = Field(default="127.0.0.1", description="Address the Ollama proxy binds")
    proxy_port: int = Field(default=11435, ge=0, le=65535, description="Port of the Ollama proxy")
    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway binds")
    gateway_port: int = Field(default=8000, ge=0, le=65535, description="Port of the gateway")
    max_restarts: int = Field(
        default=5,
        ge=0,
        description="Restarts of a crashed service within 60 s before the stack stops",
    )


SETTINGS_CLASSES: dict[str, type[BaseSettings]] = {
    "collector": CollectorSettings,
    "probe": ProbeSettings,
    "alerting": AlertingSettings,
    "storage": StorageSettings,
    "gateway": GatewaySettings,
    "stack": StackSettings,
}


def env_names(settings_class: type[BaseSettings]) -> dict[str, str]:
    """Map each field of a settings class to the environment variable that sets it."""
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    names: dict[str, str] = {}
    for field_name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[field_name] = str(alias.choices[0])
        elif isinstance(alias, str):
            names[field_name] = alias
        else:
            names[field_name] = f"{prefix}{field_name}".upper()
    return names


def settings_table() -> str:
    """Render every setting as a markdown table (the README's configuration table)."""
    rows: dict[str, tuple[list[str], str, str]] = {}
    for service, settings_class in SETTINGS_CLASSES.items():
        names = env_names(settings_class)
        for field_name, field in settings_class.model_fields.items():
            env_name = names[field_name]
            if field.default_factory is not None:
                default = "host name" if field_name == "host_label" else "(computed)"
            elif field.default is None or field.default == "":
                default = "unset"
            else:
                default = f"`{field.default}`"
            if field_name == "ollama_urls":
                default = "`http://127.0.0.1:11434`"
            users, _, _ = rows.setdefault(env_name, ([], default, field.description or ""))
            users.append(service)
    lines = ["| variable | default | used by | meaning |", "|---|---|---|---|"]
    for env_name in sorted(rows):
        users, default, description = rows[env_name]
        if env_name == "OLLAMON_NATS_URL":
            default = f"`{DEFAULT_NATS_URL}` (embedded server under `ollamon up`)"
        lines.append(f"| `{env_name}` | {default} | {', '.join(users)} | {description} |")
    return "\n".join(lines)
