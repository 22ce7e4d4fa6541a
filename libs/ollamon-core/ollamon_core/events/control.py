"""Control messages and heartbeats."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AliasChoices, AwareDatetime, Field, model_validator

from ollamon_core.events.base import Event, ServiceName, Severity
from ollamon_core.events.limits import (
    MAX_SILENCE,
    MAX_SILENCE_DAYS,
    Author,
    Comment,
    HostLabel,
    IntervalSeconds,
    ModelName,
    RuleKey,
    SilenceId,
    ThresholdValue,
)
from ollamon_core.events.ollama import OllamaHealth


class MonitoringAction(StrEnum):
    """What a monitoring control message asks for."""

    START = "start"
    STOP = "stop"


class MonitoringControl(Event):
    """Start or stop sampling, optionally changing the interval (collector and probe).

    The interval is bounded (`limits.MIN_INTERVAL_SECONDS` to `MAX_INTERVAL_SECONDS`) and
    must be a JSON number, exactly as the REST body of `monitoring/start`.
    """

    kind: str = Field(default="monitoring_control", pattern="^monitoring_control$")
    action: MonitoringAction
    interval_seconds: IntervalSeconds | None = None


class ThresholdUpdate(Event):
    """Change one alert rule's threshold at runtime.

    The threshold is a finite JSON number within the widest range any rule accepts;
    alerting then holds it to the rule's own range (percent rules 0-100, for instance).
    """

    kind: str = Field(default="threshold_update", pattern="^threshold_update$")
    rule: RuleKey
    threshold: ThresholdValue
    author: Author = ""
    comment: Comment = ""


class Silence(Event):
    """Hold back alerts matching alertname/host/model/severity until `expires_at`.

    A matcher left None matches any value; `match_alertname` is the rule (the alerts'
    `alert_type`, or its setting's name), also accepted as `match_rule` (its former name).
    A silence lasts at most `limits.MAX_SILENCE_DAYS` days past its timestamp (alerting
    also holds it to that from its own clock); an `expires_at` in the past lifts it (sending
    the same `silence_id` again replaces it). `created_at` is set by alerting when it first
    accepts the id, and kept when the id is sent again.
    """

    kind: str = Field(default="silence", pattern="^silence$")
    silence_id: SilenceId
    match_alertname: RuleKey | None = Field(
        default=None, validation_alias=AliasChoices("match_alertname", "match_rule")
    )
    match_host: HostLabel | None = None
    match_model: ModelName | None = None
    match_severity: Severity | None = None
    expires_at: AwareDatetime
    author: Author = ""
    comment: Comment = ""
    created_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _at_most_the_longest_silence(self) -> Silence:
        if self.expires_at - self.timestamp > MAX_SILENCE:
            raise ValueError(
                f"a silence lasts at most {MAX_SILENCE_DAYS} days: expires_at must be within "
                f"{MAX_SILENCE_DAYS} days of the timestamp"
            )
        return self


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
