"""Settings of the gateway, read from `OLLAMON_*` variables."""

from __future__ import annotations

from pydantic import Field

from ollamon_core.settings import ServiceSettings, monitoring_interval_field


class GatewaySettings(ServiceSettings):
    """Settings of the gateway."""

    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway binds")
    gateway_port: int = Field(default=8000, ge=0, le=65535, description="Port of the gateway")
    api_token: str | None = Field(
        default=None, description="When set, every POST needs `Authorization: Bearer <token>`"
    )
    monitoring_interval_seconds: float = monitoring_interval_field()
    sse_buffer_size: int = Field(
        default=1000,
        ge=1,
        description="Latest stream events the gateway keeps for `Last-Event-ID` replay",
    )
    sse_client_queue_size: int = Field(
        default=500,
        ge=1,
        description="Events queued per stream client before its oldest are dropped",
    )
    sse_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        validation_alias="OLLAMON_SSE_HEARTBEAT",
        description="Seconds between comment heartbeats on an idle stream",
    )
    export_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias="OLLAMON_EXPORT_TIMEOUT",
        description="Longest the gateway waits for storage to finish an export or cleanup",
    )
