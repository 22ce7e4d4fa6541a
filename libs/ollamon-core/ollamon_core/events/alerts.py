"""Alerts and scores (published by alerting). The alert subject layout is a public contract."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from ollamon_core.events.base import Event, FrozenModel, Severity


class AlertState(StrEnum):
    """Published alert states; pending alerts are never published."""

    FIRING = "firing"
    RESOLVED = "resolved"


class AnomalyEvidence(FrozenModel):
    """Why a `performance_anomaly` alert fires: one metric against the model's own baseline
    (median/MAD of its recent requests, by hour of day once learned)."""

    metric: str = Field(max_length=64, description="latency_ms, time_to_first_token_ms, ...")
    unit: str = Field(max_length=16)
    observed: float = Field(description="Median of the last requests outside the band")
    expected: float = Field(description="The baseline's median")
    band_low: float
    band_high: float
    deviations: float = Field(
        ge=0, description="Robust standard deviations beyond the median of the k-th worst request"
    )
    outside: int = Field(ge=0, description="Requests outside the band among the last `judged`")
    judged: int = Field(ge=0)
    baseline: str = Field(max_length=32, description="'hour 14 UTC' or 'overall'")
    baseline_samples: int = Field(ge=0)


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

    # What the rule saw, where it says more than a value (performance_anomaly).
    evidence: AnomalyEvidence | None = None


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
