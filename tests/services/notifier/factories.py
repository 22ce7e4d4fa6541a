"""Alerts as alerting publishes them, and notifier settings for tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ollamon_core.events import AlertState, OllamaPerformanceAlert, Severity
from ollamon_notifier.settings import NotifierSettings

HOST = "gpu-box"
MODEL = "llama3.2:1b"
STARTED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def firing(fingerprint: str = "fp-slow", **overrides: Any) -> OllamaPerformanceAlert:
    """A firing slow-response alert (as alerting publishes it)."""
    values: dict[str, Any] = {
        "host": HOST,
        "alert_type": "slow_response",
        "severity": Severity.HIGH,
        "message": "Response time 45000 ms over the 30000 ms threshold",
        "model_name": MODEL,
        "metric_value": 45000.0,
        "threshold": 30000.0,
        "recommendation": "Lower num_ctx or use a smaller model",
        "state": AlertState.FIRING,
        "fingerprint": fingerprint,
        "starts_at": STARTED,
        "timestamp": STARTED,
    } | overrides
    return OllamaPerformanceAlert.model_validate(values)


def resolved(alert: OllamaPerformanceAlert, after_seconds: float = 120) -> OllamaPerformanceAlert:
    """The same alert resolved `after_seconds` later."""
    ended = (alert.starts_at or STARTED) + timedelta(seconds=after_seconds)
    return alert.model_copy(
        update={
            "event_id": f"{alert.event_id}-resolved",
            "state": AlertState.RESOLVED,
            "ends_at": ended,
            "timestamp": ended,
        }
    )


def notifier_settings(nats_url: str, **overrides: Any) -> NotifierSettings:
    """Short timings; nothing read from the environment but what `overrides` say."""
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "host_label": "test-host",
        "heartbeat_interval_seconds": 0.2,
        "retry_initial_seconds": 0.05,
        "retry_max_seconds": 0.2,
        "give_up_seconds": 30.0,
        "timeout_seconds": 2.0,
    } | overrides
    return NotifierSettings.model_validate(values)


async def routes_file(folder: Path, text: str, name: str = "routes.yaml") -> Path:
    """Write a routing file (in a worker thread: the test runs in the event loop)."""
    path = folder / name
    await asyncio.to_thread(path.write_text, text)
    return path
