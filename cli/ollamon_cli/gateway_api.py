"""What `ollamon status` and `ollamon top` read: the gateway's REST API and live stream.

Why the gateway and not NATS: the gateway already holds what a screen needs, merged — every
service's last heartbeat (a NATS reader would wait a heartbeat interval to see them), each
Ollama server's live health, storage's summaries and the alerts firing — so the terminal,
the dashboard and `/metrics` show one picture. It also needs no NATS login (the `cli`
user stays limited to its few subjects) and works from any machine that can reach the
gateway's port.

Loaded models are each Ollama's latest `/api/ps` snapshot, which `/status` answers as
`loaded`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
from pydantic import ValidationError

from ollamon_cli.exits import CommandError
from ollamon_cli.settings import StackSettings
from ollamon_core.events import OllamaModelsSnapshot
from ollamon_gateway.api_models import StatusReply, SummaryResponse

API = "/api/ai/ollama/performance"
REQUEST_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class GatewayTarget:
    """The gateway's base URL and the setting that named it."""

    url: str
    url_setting: str

    @classmethod
    def of(cls, settings: StackSettings, url: str | None = None) -> GatewayTarget:
        """`--url`, else the address `ollamon up` gives the gateway (a wildcard bind is
        reached on loopback)."""
        if url:
            return cls(url.rstrip("/"), "--url")
        host = settings.gateway_host
        host = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
        return cls(
            f"http://{host}:{settings.gateway_port}",
            "OLLAMON_GATEWAY_HOST, OLLAMON_GATEWAY_PORT or --url",
        )


@dataclass
class Snapshot:
    """One look at the stack: status, the summary of the last `hours`, loaded models."""

    status: StatusReply
    summary: SummaryResponse | None
    summary_problem: str | None
    loaded: dict[tuple[str, str], OllamaModelsSnapshot] = field(default_factory=dict)
    taken_at: float = field(default_factory=time.time)


def _unreachable(target: GatewayTarget, error: Exception) -> CommandError:
    return CommandError(
        f"no ollamon gateway answers at {target.url} ({target.url_setting}): "
        f"{type(error).__name__}; start the stack with `ollamon up`"
    )


async def read_status(client: httpx.AsyncClient, target: GatewayTarget) -> StatusReply:
    """`GET .../status`.

    Raises:
        CommandError: nothing answers there, or it is not ollamon's gateway.
    """
    try:
        response = await client.get(f"{API}/status")
    except httpx.HTTPError as error:
        raise _unreachable(target, error) from None
    try:
        response.raise_for_status()
        return StatusReply.model_validate_json(response.content)
    except (httpx.HTTPStatusError, ValidationError):
        raise CommandError(
            f"{target.url} answered {API}/status with {response.status_code}, not ollamon's "
            f"status ({target.url_setting})"
        ) from None


async def read_summary(
    client: httpx.AsyncClient, hours: float
) -> tuple[SummaryResponse | None, str | None]:
    """`GET .../summary?hours=`; on failure None and the reason (storage may be down)."""
    try:
        response = await client.get(f"{API}/summary", params={"hours": hours})
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        return None, f"{response.status_code}: {str(detail)[:200]}"
    return SummaryResponse.model_validate_json(response.content), None


async def take_snapshot(
    client: httpx.AsyncClient, target: GatewayTarget, *, hours: float
) -> Snapshot:
    """Status (with the loaded models) and storage's summary of the last `hours`, at once."""
    status, (summary, problem) = await asyncio.gather(
        read_status(client, target), read_summary(client, hours)
    )
    loaded = {(shot.host, shot.ollama_url): shot for shot in status.loaded}
    return Snapshot(status, summary, problem, loaded)


def client_for(target: GatewayTarget, token: str | None) -> httpx.AsyncClient:
    """An HTTP client of the gateway (the token is sent when set: reads do not need it)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=target.url, timeout=REQUEST_TIMEOUT_SECONDS, headers=headers)
