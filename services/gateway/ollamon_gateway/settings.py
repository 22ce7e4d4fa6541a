"""Settings of the gateway, read from `OLLAMON_*` variables."""

from __future__ import annotations

import socket
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_settings import NoDecode

from ollamon_core.settings import (
    OptionalText,
    ServiceSettings,
    api_token_field,
    monitoring_interval_field,
)

HTTP_PORT = 80  # browsers leave this port out of `Host`
# The names a browser on this machine uses for a loopback gateway.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
# Bind addresses that mean "every interface": the machine's name is answered too.
EVERY_INTERFACE = ("0.0.0.0", "::", "")


def _split_comma_separated(value: object) -> object:
    if isinstance(value, str):
        return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
    return value


def _host_patterns(hosts: list[str]) -> list[str]:
    for host in hosts:
        if host != "*" and "*" in host.removeprefix("*."):
            raise ValueError(f"{host!r}: `*` stands alone or starts a name, as in `*.example.org`")
    return hosts


# NoDecode: the variable is a comma-separated list, not JSON (split by the validator).
HostList = Annotated[
    list[str],
    NoDecode,
    BeforeValidator(_split_comma_separated),
    AfterValidator(_host_patterns),
]


class GatewaySettings(ServiceSettings):
    """Settings of the gateway."""

    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway binds")
    gateway_port: int = Field(default=8000, ge=0, le=65535, description="Port of the gateway")
    api_token: OptionalText = api_token_field()
    gateway_allowed_hosts: HostList = Field(
        default_factory=list,
        description=(
            "`Host` values answered besides the computed ones (the bound address, localhost,"
            " 127.0.0.1 and [::1], each with the gateway's port): comma-separated `name` or"
            " `name:port`, `*.example.org` for subdomains, `*` for any (no DNS-rebinding"
            " check). Browsers may POST from pages served under these names too"
        ),
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
    health_check_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias="OLLAMON_HEALTH_CHECK_INTERVAL",
        description=(
            "`GET /api/ai/ollama/health` asks the probe at most once per this many seconds"
            " (callers meanwhile share the latest answer)"
        ),
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
        "API calls); then the one idle for longest is closed for a new one (503 when every "
        "one has a request in flight)",
    )

    def allowed_hosts(self) -> list[str]:
        """Every `Host` value the gateway answers (Litestar's allowed-hosts patterns).

        The bound address and the loopback names with the gateway's port (bare too on port
        80), the machine's name when bound to every interface, then the configured ones.
        """
        host = self.gateway_host.strip("[]")
        names = [f"[{host}]" if ":" in host else host, *LOOPBACK_NAMES]
        if host in EVERY_INTERFACE:
            names = [socket.gethostname(), *LOOPBACK_NAMES]
        hosts = [f"{name}:{self.gateway_port}" for name in names]
        if self.gateway_port == HTTP_PORT:
            hosts += names
        return list(dict.fromkeys([*hosts, *self.gateway_allowed_hosts]))
