"""Settings every ollamon service shares, and field helpers for the ones several repeat.

Each service owns its settings class (`ollamon_<service>/settings.py`), a subclass of
`ServiceSettings` with its own `env_prefix`: a field's variable is that prefix plus the
field name. The shared fields below, and names kept from the original specification
(`OLLAMA_PERFORMANCE_STORAGE_PATH`, `OLLAMA_MONITORING_INTERVAL`), name their variables in
full so that they read the same under every prefix. (pydantic-settings also reads such a
field as the class's prefix + field name: a side effect of `populate_by_name`, which lets
code build settings by field name.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ollamon_core.events.base import default_host_label

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_STORAGE_PATH = Path("ollamon-data")


def _split_comma_separated(value: object) -> object:
    if isinstance(value, str):
        return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
    return value


# NoDecode: the variable is a comma-separated list, not JSON (split by the validator).
UrlList = Annotated[list[str], NoDecode, BeforeValidator(_split_comma_separated)]


def _blank_as_unset(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


# An optional text setting where an empty value means unset, as compose and env files write
# `NAME=` or `${NAME:-}` for "not given" (an empty API token must not turn the guard on).
OptionalText = Annotated[str | None, BeforeValidator(_blank_as_unset)]


def api_token_field() -> Any:
    """`OLLAMON_API_TOKEN`: empty or blank is no token."""
    return Field(
        default=None,
        description=(
            "When set (not empty), every POST, PUT and DELETE needs `Authorization: Bearer <token>`"
        ),
    )


def nats_url_field(default: str = DEFAULT_NATS_URL) -> Any:
    """`OLLAMON_NATS_URL`, whatever the class's prefix."""
    return Field(
        default=default,
        validation_alias="OLLAMON_NATS_URL",
        description="NATS server URL(s), comma-separated for a cluster",
    )


def storage_path_field() -> Any:
    """The data folder, under the specification's name first."""
    return Field(
        default=DEFAULT_STORAGE_PATH,
        validation_alias=AliasChoices("OLLAMA_PERFORMANCE_STORAGE_PATH", "OLLAMON_STORAGE_PATH"),
        description="Folder for the SQLite database, exports, backups and embedded NATS data",
    )


def monitoring_interval_field() -> Any:
    """Seconds between samples, under the specification's name first."""
    return Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("OLLAMA_MONITORING_INTERVAL", "OLLAMON_MONITORING_INTERVAL"),
        description="Seconds between system samples (collector) and Ollama polls (probe)",
    )


def ollama_urls_field() -> Any:
    """The Ollama server(s) watched, for a `UrlList` field."""
    return Field(
        default=["http://127.0.0.1:11434"],
        validation_alias=AliasChoices("OLLAMON_OLLAMA_URL", "OLLAMON_OLLAMA_URLS"),
        description="Ollama server URL(s), comma-separated; the proxy forwards to the first",
    )


class ServiceSettings(BaseSettings):
    """What every service needs: where NATS is, and which host it speaks for."""

    model_config = SettingsConfigDict(
        env_prefix="OLLAMON_", extra="ignore", populate_by_name=True, frozen=True
    )

    nats_url: str = nats_url_field()
    nats_user: str | None = Field(
        default=None,
        validation_alias="OLLAMON_NATS_USER",
        description="NATS user to connect as (`ollamon up` sets each service's own)",
    )
    nats_password: SecretStr | None = Field(
        default=None,
        validation_alias="OLLAMON_NATS_PASSWORD",
        description="Password of `OLLAMON_NATS_USER` (never logged or shown)",
    )
    nats_tls_ca: Path | None = Field(
        default=None,
        validation_alias="OLLAMON_NATS_TLS_CA",
        description="CA certificate (PEM) that signed the NATS server's, for TLS with a private CA",
    )
    host_label: str = Field(
        default_factory=default_host_label,
        validation_alias="OLLAMON_HOST_LABEL",
        description="Host label put on every event this service publishes",
    )
    heartbeat_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias="OLLAMON_HEARTBEAT_INTERVAL",
        description="Seconds between heartbeats of each service",
    )
    health_file: Path | None = Field(
        default=None,
        validation_alias="OLLAMON_HEALTH_FILE",
        description="File the service rewrites after each heartbeat sent while connected to "
        "NATS, for container healthchecks (`python -m ollamon_core.runtime.health`)",
    )
    nats_request_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias="OLLAMON_NATS_REQUEST_TIMEOUT",
        description="Timeout of every NATS request/reply",
    )
    log_level: str = Field(
        default="INFO",
        validation_alias="OLLAMON_LOG_LEVEL",
        description="Python log level of the services",
    )


DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024


class SpoolingServiceSettings(ServiceSettings):
    """A service whose events must outlive a NATS outage (probe, collector): its disk spool."""

    storage_path: Path = storage_path_field()
    spool_path: Path | None = Field(
        default=None,
        validation_alias="OLLAMON_SPOOL_PATH",
        description="Folder of the disk spools, one subfolder per service, where events wait "
        "while NATS does not acknowledge them (default: `spool/` under the storage path)",
    )
    spool_max_bytes: int = Field(
        default=DEFAULT_SPOOL_MAX_BYTES,
        ge=0,
        validation_alias="OLLAMON_SPOOL_MAX_BYTES",
        description="Bound of each service's spool; when full, the oldest system samples go "
        "first and requests last, each drop counted (0: no spool, memory only)",
    )

    def spool_folder(self, service: str) -> Path:
        """This service's spool folder."""
        return (self.spool_path or self.storage_path / "spool") / service
