"""Settings of the `ollamon` command, read from `OLLAMON_*` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ollamon_core.settings import (
    OptionalText,
    ServiceSettings,
    UrlList,
    api_token_field,
    nats_url_field,
    ollama_urls_field,
    storage_path_field,
)


class StackSettings(ServiceSettings):
    """Settings of `ollamon up`, the one-machine launcher, and the commands that talk to it.

    It reads the addresses (and token) the services it starts will use, so that it can
    print them and call them.
    """

    nats_url: str = nats_url_field(default="")
    storage_path: Path = storage_path_field()
    embedded_nats_port: int = Field(
        default=4222,
        ge=0,
        le=65535,
        description="Port of the embedded NATS server when OLLAMON_NATS_URL is not set",
    )
    ollama_urls: UrlList = ollama_urls_field()
    proxy_host: str = Field(default="127.0.0.1", description="Address the Ollama proxy binds")
    proxy_port: int = Field(default=11435, ge=0, le=65535, description="Port of the Ollama proxy")
    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway binds")
    gateway_port: int = Field(default=8000, ge=0, le=65535, description="Port of the gateway")
    api_token: OptionalText = api_token_field()
    max_restarts: int = Field(
        default=5,
        ge=0,
        description="Restarts of a crashed service within 60 s before the stack stops",
    )
