"""The tables of `ollamon status` and `ollamon top`, rendered once into text (no terminal)."""

from __future__ import annotations

import io
from datetime import timedelta

from rich.console import RenderableType

from ollamon_cli.gateway_api import Snapshot
from ollamon_cli.status import DEGRADED_EXIT, degraded
from ollamon_cli.status_view import status_view, top_view
from ollamon_cli.terminal import console_for
from ollamon_core.events import LoadedModel, OllamaHealth, OllamaModelsSnapshot, utc_now
from ollamon_core.events.queries import HostSummary
from ollamon_gateway.api_models import (
    MonitoringStatus,
    NatsStatus,
    ServiceStatus,
    StatusReply,
    StreamStatus,
    SummaryResponse,
)
from tests.services.gateway.stubs import HOST, OLLAMA_URL, summary_reply, system_sample

NOW = utc_now()
GATEWAY = "http://127.0.0.1:8000"


def service(name: str, *, alive: bool = True, **counters: float) -> ServiceStatus:
    return ServiceStatus(
        service=name,
        host=HOST,
        version="0.1.0",
        state="running",
        pid=4242,
        started_at=NOW - timedelta(hours=1),
        last_heartbeat=NOW - timedelta(seconds=3),
        heartbeat_age_seconds=3.0 if alive else 40.0,
        alive=alive,
        counters=dict(counters),
    )


def snapshot(*, missing: list[str] | None = None, ollama_up: bool = True) -> Snapshot:
    status = StatusReply(
        monitoring=MonitoringStatus(active=True, interval_seconds=5.0),
        services=[
            service("gateway"),
            service("probe", spool_events=1200, spool_bytes=3_400_000, spool_oldest_age_seconds=95),
            service("storage"),
        ],
        missing_services=missing or [],
        nats=NatsStatus(connected=True, url="nats://127.0.0.1:4222"),
        stream=StreamStatus(clients=1, frames_published=10, frames_dropped=0, last_event_id=10),
        ollama=[
            OllamaHealth(
                host=HOST, ollama_url=OLLAMA_URL, up=ollama_up, version="0.12.6", response_time_ms=3
            )
        ],
    )
    reply = summary_reply()
    host = HostSummary(
        host=HOST,
        first_seen=NOW - timedelta(days=1),
        last_seen=NOW,
        reporting=True,
        latest_system=system_sample(cpu=50.0),
        gpu_available=True,
    )
    summary = SummaryResponse(
        **dict(reply, hours=1 / 60, hosts=[host]),
        monitoring=status.monitoring,
    )
    shot = OllamaModelsSnapshot(
        host=HOST,
        ollama_url=OLLAMA_URL,
        loaded=[
            LoadedModel(
                name="qwen2.5:72b",
                size_bytes=40 * 1024**3,
                size_vram_bytes=20 * 1024**3,
                context_length=8192,
                expires_at=NOW + timedelta(minutes=4),
                partially_offloaded=True,
            )
        ],
    )
    return Snapshot(status, summary, None, {(HOST, OLLAMA_URL): shot})


def text_of(renderable: RenderableType) -> str:
    """What the command prints into a pipe: plain text, no escape sequences."""
    out = io.StringIO()
    console_for(out).print(renderable)
    return out.getvalue()


def test_top_renders_hosts_as_meters_models_as_rates_loaded_models_and_firing_alerts() -> None:
    text = text_of(top_view(snapshot(), GATEWAY, window_seconds=60.0, now=NOW))
    assert "services alive 3" in text
    assert "firing 1" in text
    # The host: CPU and memory meters, the GPU's VRAM used of total.
    assert "50.0%" in text
    assert "9.4/24.0 GB" in text
    # 128 requests in the last 60 s are 2.13 per second; p95 1,850 ms; TTFT p95 231 ms.
    assert "Models (last 60 s)" in text
    assert "2.13" in text
    assert "1,850" in text
    assert "231" in text
    # Loaded: 40 GB, half of it in VRAM, expiring in 4 minutes.
    assert "qwen2.5:72b" in text
    assert "40.0" in text
    assert "50" in text
    assert "in 4 min" in text
    assert "slow_response" in text
    assert "\x1b[" not in text
    # The probe's spool: 1,200 events, 3.4 MB, the oldest 95 s old.
    assert "1,200" in text
    assert "3.4" in text


def test_status_lists_services_ollama_versions_loaded_models_alerts_and_backlog() -> None:
    text = text_of(status_view(snapshot(missing=["alerting"]), GATEWAY, now=NOW))
    for part in ("Services", "Ollama", "Hosts", "Loaded models", "Models (last hour)"):
        assert part in text
    assert "0.12.6" in text
    assert "MISSING" in text
    assert "missing alerting" in text
    assert "128" in text  # requests in the period
    assert "Firing alerts" in text
    assert "Backlog" in text


def test_status_is_degraded_when_a_service_is_missing_or_an_ollama_is_down() -> None:
    assert not degraded(snapshot())
    assert degraded(snapshot(missing=["alerting"]))
    assert degraded(snapshot(ollama_up=False))
    assert DEGRADED_EXIT == 3


def test_status_says_how_many_requests_bypassed_the_proxy_per_host() -> None:
    assert "bypassed" not in text_of(status_view(snapshot(), GATEWAY, now=NOW))
    shot = snapshot()
    assert shot.summary is not None
    hosts = [host.model_copy(update={"bypassed_requests": 3}) for host in shot.summary.hosts]
    summary = shot.summary.model_copy(update={"bypassed_requests": 3, "hosts": hosts})
    text = text_of(status_view(Snapshot(shot.status, summary, None, shot.loaded), GATEWAY, now=NOW))
    assert f"3 requests bypassed the proxy ({HOST}: 3)" in text
