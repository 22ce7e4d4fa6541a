"""Events with known values for storage tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from ollamon_core.events import (
    AlertState,
    ModelLifecycleEvent,
    ModelScore,
    OllamaModelMetrics,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    Recommendation,
    Severity,
    utc_now,
)
from ollamon_core.events.ollama import LifecycleChange


def request(
    model_name: str = "llama3.2:1b",
    response_time_ms: float = 100.0,
    *,
    at: datetime | None = None,
    host: str = "box-1",
    **fields: object,
) -> OllamaModelMetrics:
    """A request event."""
    return OllamaModelMetrics(
        model_name=model_name,
        response_time_ms=response_time_ms,
        timestamp=at or utc_now(),
        host=host,
        **fields,
    )


def system(
    at: datetime | None = None, cpu: float = 10.0, host: str = "box-1"
) -> OllamaSystemMetrics:
    """A system sample."""
    return OllamaSystemMetrics(
        cpu_usage_percent=cpu,
        memory_usage_percent=50.0,
        memory_available_gb=8.0,
        disk_usage_percent=40.0,
        timestamp=at or utc_now(),
        host=host,
    )


def alert(
    severity: Severity = Severity.HIGH,
    *,
    state: AlertState = AlertState.FIRING,
    fingerprint: str = "slow|box-1|m",
    at: datetime | None = None,
) -> OllamaPerformanceAlert:
    """An alert."""
    return OllamaPerformanceAlert(
        alert_type="slow_response",
        severity=severity,
        message="slow",
        model_name="m",
        state=state,
        fingerprint=fingerprint,
        timestamp=at or utc_now(),
        host="box-1",
    )


def score(model_name: str, value: float, *, at: datetime | None = None) -> ModelScore:
    """A score with one recommendation."""
    return ModelScore(
        model_name=model_name,
        score=value,
        timestamp=at or utc_now(),
        host="box-1",
        recommendations=[
            Recommendation(setting="OLLAMA_NUM_PARALLEL", action="lower it", reason="queueing")
        ],
    )


def lifecycle(model_name: str, change: LifecycleChange, at: datetime) -> ModelLifecycleEvent:
    """A lifecycle event."""
    return ModelLifecycleEvent(
        ollama_url="http://127.0.0.1:11434",
        model_name=model_name,
        change=change,
        timestamp=at,
        host="box-1",
    )


def minutes_ago(minutes: float) -> datetime:
    """Now minus some minutes."""
    return utc_now() - timedelta(minutes=minutes)
