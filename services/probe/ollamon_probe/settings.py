"""Settings of the probe (watcher and proxy), read from `OLLAMON_*` variables."""

from __future__ import annotations

from pydantic import Field

from ollamon_core.settings import (
    SpoolingServiceSettings,
    UrlList,
    monitoring_interval_field,
    ollama_urls_field,
)


class ProbeSettings(SpoolingServiceSettings):
    """Settings of the probe (watcher and proxy)."""

    ollama_urls: UrlList = ollama_urls_field()
    proxy_host: str = Field(default="127.0.0.1", description="Address the Ollama proxy binds")
    proxy_port: int = Field(default=11435, ge=0, le=65535, description="Port of the Ollama proxy")
    monitoring_interval_seconds: float = monitoring_interval_field()
    upstream_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        validation_alias="OLLAMON_UPSTREAM_TIMEOUT",
        description="Longest the proxy waits on Ollama for one read",
    )
    proxy_max_header_bytes: int = Field(
        default=64 * 1024,
        gt=0,
        description="Largest request head (request line and headers) the proxy reads; "
        "a larger one gets 431 and the connection closes",
    )
    proxy_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        validation_alias="OLLAMON_PROXY_HEADER_TIMEOUT",
        description="Longest a client may take to send a request head (408, closed)",
    )
    proxy_body_idle_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        validation_alias="OLLAMON_PROXY_BODY_IDLE_TIMEOUT",
        description="Longest a request body may go with less than 1 KiB received (408, "
        "closed, and its request to Ollama dropped); its size and total time are not limited",
    )
    proxy_max_connections: int = Field(
        default=512,
        ge=1,
        description="Client connections the proxy keeps open at once; then the one idle for "
        "longest is closed for a new one (503 when every one has a request in flight)",
    )
    ollama_log_path: str | None = Field(
        default=None,
        description="Ollama's server log to follow (e.g. ~/.ollama/logs/server.log): requests "
        "in it that did not pass the proxy become events with source log (rotation, "
        "truncation and a missing file handled)",
    )
    ollama_log_unit: str | None = Field(
        default=None,
        description="A journald unit to follow instead of a file (e.g. ollama), through "
        "journalctl -f where journalctl exists",
    )
    ollama_log_grace_seconds: float = Field(
        default=3.0,
        gt=0,
        le=60,
        validation_alias="OLLAMON_OLLAMA_LOG_GRACE",
        description="How long a request line of Ollama's log waits for the proxy's event of the "
        "same request before it counts as bypassing the proxy",
    )
    ollama_log_utc_offset_minutes: int | None = Field(
        default=None,
        ge=-14 * 60,
        le=14 * 60,
        validation_alias="OLLAMON_OLLAMA_LOG_UTC_OFFSET_MINUTES",
        description="The time zone Ollama's log is written in, as minutes east of UTC (0: an "
        "Ollama container logging UTC); unset: the probe's own",
    )
    benchmark_quiet_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        validation_alias="OLLAMON_BENCHMARK_QUIET",
        description="A benchmark run (unless forced) waits until no real request went through "
        "the proxy for this many seconds and none is in flight",
    )
