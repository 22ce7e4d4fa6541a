"""Settings of every ollamon service, read from the environment by pydantic-settings.

One class per service, built once at the service's entry point and passed down. Names of
the original specification keep working (`OLLAMA_PERFORMANCE_STORAGE_PATH`,
`OLLAMA_MONITORING_INTERVAL`). `settings_table()` renders the README's configuration table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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


def _split_urls(value: object) -> object:
    if isinstance(value, str):
        return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
    return value


class ProbeSettings(ServiceSettings):
    """Settings of the probe (watcher and proxy)."""

    ollama_urls: list[str] = Field(
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

    @property
    def database_path(self) -> Path:
        """The SQLite file."""
        return self.storage_path / "ollamon.db"


class GatewaySettings(ServiceSettings):
    """Settings of the gateway."""

    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway binds")
    gateway_port: int = Field(default=8000, ge=0, le=65535, description="Port of the gateway")
    api_token: str | None = Field(
        default=None, description="When set, every POST needs `Authorization: Bearer <token>`"
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
