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
    gateway_max_header_bytes: int = Field(
        default=64 * 1024,
        gt=0,
        description="Largest request head (request line and headers) the gateway reads; "
        "a larger one gets 431 and the connection closes",
    )
    gateway_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        validation_alias="OLLAMON_GATEWAY_HEADER_TIMEOUT",
        description="Longest a client may take to send a request head (408, closed)",
    )
    gateway_body_idle_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        validation_alias="OLLAMON_GATEWAY_BODY_IDLE_TIMEOUT",
        description="Longest a request body may go with less than 1 KiB received (408, closed)",
    )
    gateway_max_connections: int = Field(
        default=256,
        ge=1,
        description="Client connections the gateway keeps open at once (dashboards, streams, "
        "API calls); one more is answered 503 and closed",
    )
