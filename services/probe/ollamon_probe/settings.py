"""Settings of the probe (watcher and proxy), read from `OLLAMON_*` variables."""

from __future__ import annotations

from pydantic import Field

from ollamon_core.settings import (
    ServiceSettings,
    UrlList,
    monitoring_interval_field,
    ollama_urls_field,
)


class ProbeSettings(ServiceSettings):
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
