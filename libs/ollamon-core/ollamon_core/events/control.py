"""Control messages and heartbeats."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from ollamon_core.events.base import Event, ServiceName, Severity
from ollamon_core.events.ollama import OllamaHealth


class MonitoringAction(StrEnum):
    """What a monitoring control message asks for."""

    START = "start"
    STOP = "stop"


class MonitoringControl(Event):
    """Start or stop sampling, optionally changing the interval (collector and probe)."""

    kind: str = Field(default="monitoring_control", pattern="^monitoring_control$")
    action: MonitoringAction
    interval_seconds: float | None = Field(default=None, gt=0, le=3600)


class ThresholdUpdate(Event):
    """Change one alert rule's threshold at runtime."""

    kind: str = Field(default="threshold_update", pattern="^threshold_update$")
    rule: str
    threshold: float


class Silence(Event):
    """Hold back alerts matching rule/host/model until `expires_at` (None matches any)."""

    kind: str = Field(default="silence", pattern="^silence$")
    silence_id: str
    match_rule: str | None = None
    match_host: str | None = None
    match_model: str | None = None
    expires_at: AwareDatetime
    comment: str = ""


class Heartbeat(Event):
    """A service says it is alive, with its counters."""

    kind: str = Field(default="heartbeat", pattern="^heartbeat$")
    service: ServiceName
    version: str
    state: str = "running"
    pid: int
    started_at: AwareDatetime
    counters: dict[str, float] = Field(default_factory=dict)


class HealthCheckRequest(Event):
    """Ask the probe to check Ollama now (the gateway's `/api/ai/ollama/health`)."""

    kind: str = Field(default="health_check", pattern="^health_check$")


__all__ = [
    "HealthCheckReply",
    "HealthCheckRequest",
    "Heartbeat",
    "MonitoringAction",
    "MonitoringControl",
    "Severity",
    "Silence",
    "ThresholdUpdate",
]


class HealthCheckReply(Event):
    """The probe's answer to a health check: one result per Ollama server."""

    kind: str = Field(default="health_check_reply", pattern="^health_check_reply$")
    results: list[OllamaHealth] = Field(default_factory=list)
