"""Small builders of the inputs the alerting tests feed in."""

from __future__ import annotations

from typing import Any

from ollamon_alerting.windows import WindowStats
from ollamon_core.events import OllamaModelMetrics

HOST = "test-host"
MODEL = "llama3.2:1b"


def window_stats(**overrides: object) -> WindowStats:
    """A healthy window of ten requests, with `overrides`."""
    values: dict[str, Any] = {
        "request_count": 10,
        "failed_count": 0,
        "overloaded_count": 0,
        "cold_start_count": 0,
        "context_full_count": 0,
        "response_time_p95_ms": 0.0,
        "time_to_first_token_p95_ms": 0.0,
        "time_to_first_token_count": 10,
        "tokens_per_second_mean": 50.0,
        "tokens_per_second_count": 10,
        "load_duration_p95_ms": 0.0,
    } | overrides
    return WindowStats(**values)


def request(**overrides: object) -> OllamaModelMetrics:
    """A fast, successful, warm request, with `overrides`."""
    values: dict[str, Any] = {
        "host": HOST,
        "model_name": MODEL,
        "response_time_ms": 800.0,
        "load_duration_ms": 3.0,
        "tokens_generated": 40,
        "tokens_per_second": 50.0,
        "time_to_first_token_ms": 120.0,
        "streamed": True,
    } | overrides
    return OllamaModelMetrics.model_validate(values)


def failed_request(status_code: int = 500, **overrides: object) -> OllamaModelMetrics:
    """A request Ollama answered with an error."""
    return request(
        error_occurred=True,
        status_code=status_code,
        error_message="boom",
        tokens_per_second=None,
        time_to_first_token_ms=None,
        **overrides,
    )
