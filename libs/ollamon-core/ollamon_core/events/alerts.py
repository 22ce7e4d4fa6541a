"""Alerts and scores (published by alerting). The alert subject layout is a public contract."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from ollamon_core.events.base import Event, FrozenModel, Severity


class AlertState(StrEnum):
    """Published alert states; pending alerts are never published."""

    FIRING = "firing"
    RESOLVED = "resolved"


class OllamaPerformanceAlert(Event):
    """An alert, firing or resolved.

    The first block keeps the field names of the original specification.
    """

    kind: str = Field(default="alert", pattern="^alert$")
    alert_type: str
    severity: Severity
    message: str
    model_name: str | None = None
    metric_value: float | None = None
    threshold: float | None = None
    recommendation: str | None = None

    # Lifecycle.
    state: AlertState = AlertState.FIRING
    fingerprint: str = ""
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    notification_count: int = 1

    # Management: who acknowledged a firing alert, and when (kept on its resolved event).
    acknowledged_by: str | None = None
    acknowledged_at: AwareDatetime | None = None


class Recommendation(FrozenModel):
    """A concrete change to make, naming the Ollama setting involved."""

    setting: str
    action: str
    reason: str


class ModelScore(Event):
    """A model's performance score (0-10) on one host, with what to change."""

    kind: str = Field(default="score", pattern="^score$")
    model_name: str
    score: float = Field(ge=0, le=10)
    components: dict[str, float] = Field(default_factory=dict)
    request_count: int = 0
    success_rate_percent: float | None = None
    response_time_p95_ms: float | None = None
    time_to_first_token_p95_ms: float | None = None
    tokens_per_second_mean: float | None = None
    tokens_per_second_baseline: float | None = None
    recommendations: list[Recommendation] = Field(default_factory=list)
