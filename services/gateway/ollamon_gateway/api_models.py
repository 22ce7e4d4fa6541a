"""Bodies and answers of the REST API that are not bus messages (those live in libs)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ollamon_core.events import OllamaHealth, OllamaModelsSnapshot
from ollamon_core.events.limits import IntervalSeconds
from ollamon_core.events.queries import SummaryReply


class ApiModel(BaseModel):
    """A strict HTTP body or answer."""

    model_config = ConfigDict(extra="forbid")


class MonitoringStartBody(ApiModel):
    """Body of `POST .../monitoring/start`: the sampling interval (keep the current if absent).

    Bounded and typed as the `MonitoringControl` it becomes (the same `IntervalSeconds`).
    """

    interval: IntervalSeconds | None = None


class MonitoringStatus(ApiModel):
    """Whether sampling runs, at which interval, and since when."""

    active: bool
    interval_seconds: float | None = None
    changed_at: AwareDatetime | None = None


class ServiceStatus(ApiModel):
    """One service instance as its last heartbeat described it."""

    service: str
    host: str
    version: str
    state: str
    pid: int
    started_at: AwareDatetime
    last_heartbeat: AwareDatetime
    heartbeat_age_seconds: float
    alive: bool
    counters: dict[str, float] = Field(default_factory=dict)


class NatsStatus(ApiModel):
    """The gateway's own NATS connection."""

    connected: bool
    url: str | None = None
    reconnects: int = 0
    disconnects: int = 0


class StreamStatus(ApiModel):
    """The gateway's SSE fan-out."""

    clients: int
    frames_published: int
    frames_dropped: int
    last_event_id: int


class StatusReply(ApiModel):
    """Answer of `GET .../status`."""

    monitoring: MonitoringStatus
    services: list[ServiceStatus]
    missing_services: list[str] = Field(
        default_factory=list, description="Services with no live instance (none seen, or stale)"
    )
    nats: NatsStatus
    stream: StreamStatus
    ollama: list[OllamaHealth]
    loaded: list[OllamaModelsSnapshot] = Field(
        default_factory=list,
        description="Each Ollama server's latest models snapshot (what is in memory: size, "
        "VRAM, expiry), by host and URL; its catalogue (`available`) left out",
    )


class SummaryResponse(SummaryReply):
    """Answer of `GET .../summary`: storage's summary plus the live monitoring state."""

    monitoring: MonitoringStatus
    ollama: list[OllamaHealth] = Field(default_factory=list)
    services_alive: int = 0
