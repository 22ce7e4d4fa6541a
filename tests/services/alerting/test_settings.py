"""Each public variable of the alerting settings reaches its field, and no other prefix does."""

from __future__ import annotations

import pytest

from ollamon_alerting.settings import AlertingSettings
from tests.support.settings_env import (
    SHARED_ENV_NAMES,
    assert_read_under_no_other_prefix,
    assert_variable_sets_field,
)

# Variable -> field: the public names (README's configuration table). Do not change one
# without a reason users can follow.
ENV_NAMES = {
    **SHARED_ENV_NAMES,
    "OLLAMON_ALERT_RESPONSE_TIME_MS": "response_time_ms",
    "OLLAMON_ALERT_MODEL_LOAD_TIME_MS": "model_load_time_ms",
    "OLLAMON_ALERT_CONTEXT_LENGTH_UTILIZATION": "context_length_utilization",
    "OLLAMON_ALERT_ERROR_RATE_PERCENT": "error_rate_percent",
    "OLLAMON_ALERT_MEMORY_USAGE_PERCENT": "memory_usage_percent",
    "OLLAMON_ALERT_CPU_USAGE_PERCENT": "cpu_usage_percent",
    "OLLAMON_ALERT_GPU_USAGE_PERCENT": "gpu_usage_percent",
    "OLLAMON_ALERT_GPU_MEMORY_PERCENT": "gpu_memory_percent",
    "OLLAMON_ALERT_DISK_USAGE_PERCENT": "disk_usage_percent",
    "OLLAMON_ALERT_TTFT_P95_MS": "time_to_first_token_p95_ms",
    "OLLAMON_ALERT_TOKENS_PER_SECOND_DROP_PERCENT": "tokens_per_second_drop_percent",
    "OLLAMON_ALERT_CPU_OFFLOAD_PERCENT": "cpu_offload_percent",
    "OLLAMON_ALERT_TELEMETRY_BACKLOG_SECONDS": "telemetry_backlog_seconds",
    "OLLAMON_ALERT_PROXY_BYPASSED_PERCENT": "proxy_bypassed_percent",
    "OLLAMON_ALERT_DISK_FULL_FORECAST_HOURS": "disk_full_forecast_hours",
    "OLLAMON_ALERT_MEMORY_PRESSURE_FORECAST_MINUTES": "memory_pressure_forecast_minutes",
    "OLLAMON_ALERT_VRAM_PRESSURE_FORECAST_MINUTES": "vram_pressure_forecast_minutes",
    "OLLAMON_ALERT_ANOMALY_DEVIATIONS": "anomaly_deviations",
    "OLLAMON_ALERT_ANOMALY_MIN_SAMPLES": "anomaly_min_samples",
    "OLLAMON_ALERT_ANOMALY_LEARN_INTERVAL_SECONDS": "anomaly_learn_interval_seconds",
    "OLLAMON_ALERT_ANOMALY_SPREAD_FLOOR_PERCENT": "anomaly_spread_floor_percent",
    "OLLAMON_ALERT_WINDOW_SECONDS": "window_seconds",
    "OLLAMON_ALERT_MIN_REQUESTS": "min_requests",
    "OLLAMON_ALERT_REQUEST_RULE_BREACHES": "request_rule_breaches",
    "OLLAMON_ALERT_REQUEST_RULE_REQUESTS": "request_rule_requests",
    "OLLAMON_ALERT_SEVERE_BREACH_FACTOR": "severe_breach_factor",
    "OLLAMON_ALERT_BASELINE_MIN_SAMPLES": "baseline_min_samples",
    "OLLAMON_ALERT_FOR_SECONDS": "for_seconds",
    "OLLAMON_ALERT_RESOLVE_SECONDS": "resolve_seconds",
    "OLLAMON_ALERT_HYSTERESIS_PERCENT": "hysteresis_percent",
    "OLLAMON_ALERT_REPEAT_INTERVAL_SECONDS": "repeat_interval_seconds",
    "OLLAMON_ALERT_STALE_SECONDS": "stale_seconds",
    "OLLAMON_ALERT_STATE_SAVE_INTERVAL_SECONDS": "state_save_interval_seconds",
    "OLLAMON_ALERT_EVALUATION_INTERVAL": "evaluation_interval_seconds",
    "OLLAMON_ALERT_SCORE_INTERVAL": "score_interval_seconds",
}


def test_every_field_is_listed_under_a_public_name() -> None:
    assert set(ENV_NAMES.values()) == set(AlertingSettings.model_fields)


@pytest.mark.parametrize(("env_name", "field_name"), ENV_NAMES.items())
def test_each_public_variable_sets_its_field(
    env_name: str, field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_variable_sets_field(AlertingSettings, env_name, field_name, monkeypatch)


@pytest.mark.parametrize("field_name", sorted(set(ENV_NAMES.values())))
def test_no_field_is_read_under_another_prefix(
    field_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_read_under_no_other_prefix(AlertingSettings, field_name, ENV_NAMES, monkeypatch)
