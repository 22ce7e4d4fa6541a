"""Build the published events: alerts from notifications, scores from windows (pure)."""

from __future__ import annotations

from datetime import datetime

from ollamon_alerting import recommendations, scoring
from ollamon_alerting.lifecycle import Notification
from ollamon_alerting.rules import RULE_SPECS, Scale
from ollamon_alerting.windows import WindowStats
from ollamon_core.events import (
    AlertState,
    ModelScore,
    OllamaPerformanceAlert,
    Recommendation,
)


def alert_message(notification: Notification) -> str:
    """A one-sentence human message."""
    record = notification.record
    spec = RULE_SPECS[record.rule]
    subject = f"{record.model_name} on {record.host}" if record.model_name else record.host
    if notification.state is AlertState.RESOLVED:
        head = f"Resolved: {spec.title} for {subject}"
    else:
        head = f"{spec.title.capitalize()} for {subject}"
    if spec.scale is Scale.BINARY:
        text = head
    elif spec.scale is Scale.LEAD:  # the detail says it all: "disk / full in ~9 days at ..."
        limit = f"within {_number(record.threshold)} {spec.unit}"
        return f"{head}: {record.detail or limit} (alert {limit})"
    else:
        text = (
            f"{head}: {_number(record.value)} {spec.unit} "
            f"(threshold {_number(record.threshold)} {spec.unit})"
        )
    return f"{text}; {record.detail}" if record.detail else text


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"


def build_alert(
    notification: Notification, stats: WindowStats | None, now: datetime
) -> OllamaPerformanceAlert:
    """The `OllamaPerformanceAlert` of a notification."""
    record = notification.record
    recommendation = recommendations.for_alert(record.rule, stats)
    return OllamaPerformanceAlert(
        timestamp=now,
        host=record.host,
        alert_type=record.rule.value,
        severity=record.severity,
        message=alert_message(notification),
        model_name=record.model_name,
        metric_value=record.value,
        threshold=record.threshold,
        recommendation=recommendations.describe(recommendation),
        state=notification.state,
        fingerprint=record.fingerprint,
        starts_at=record.pending_since,
        ends_at=notification.ends_at,
        notification_count=record.notification_count,
        acknowledged_by=record.acknowledged_by,
        acknowledged_at=record.acknowledged_at,
        evidence=record.evidence,
    )


def build_score(
    host: str,
    model_name: str,
    stats: WindowStats,
    thresholds: scoring.ScoreThresholds,
    baseline_tokens_per_second: float | None,
    advice: list[Recommendation],
    now: datetime,
    anomaly_share: float | None = None,
) -> ModelScore:
    """The `ModelScore` of a model's window (`anomaly_share`: see `scoring.components`)."""
    parts = scoring.components(stats, thresholds, baseline_tokens_per_second, anomaly_share)
    return ModelScore(
        timestamp=now,
        host=host,
        model_name=model_name,
        score=scoring.score(parts),
        components={name: round(value, 4) for name, value in parts.items()},
        request_count=stats.request_count,
        success_rate_percent=stats.success_rate_percent,
        response_time_p95_ms=stats.response_time_p95_ms,
        time_to_first_token_p95_ms=stats.time_to_first_token_p95_ms,
        tokens_per_second_mean=stats.tokens_per_second_mean,
        tokens_per_second_baseline=baseline_tokens_per_second,
        recommendations=advice,
    )
