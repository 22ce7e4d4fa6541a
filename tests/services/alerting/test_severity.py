"""Severity by how far past the threshold, and rule lookup."""

from __future__ import annotations

import pytest

from ollamon_alerting.rules import (
    RULE_SPECS,
    RuleName,
    Scale,
    UnknownRuleError,
    resolve_rule,
    thresholds_from_settings,
)
from ollamon_alerting.severity import severity_for
from ollamon_core.events import Severity
from tests.services.alerting.conftest import make_settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (30001, Severity.LOW),
        (37500, Severity.LOW),
        (40000, Severity.MEDIUM),
        (45000, Severity.MEDIUM),
        (50000, Severity.HIGH),
        (60000, Severity.HIGH),
        (60001, Severity.CRITICAL),
    ],
)
def test_ratio_rules_grade_by_value_over_threshold(value: float, expected: Severity) -> None:
    assert severity_for(Scale.RATIO, value, 30000) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (11, Severity.LOW),
        (32.4, Severity.LOW),
        (32.5, Severity.MEDIUM),
        (55, Severity.HIGH),
        (77.5, Severity.CRITICAL),
        (100, Severity.CRITICAL),
    ],
)
def test_percent_rules_grade_by_share_of_headroom_used(value: float, expected: Severity) -> None:
    assert severity_for(Scale.PERCENT, value, 10) is expected


def test_a_percent_threshold_of_100_grades_critical() -> None:
    assert severity_for(Scale.PERCENT, 100.5, 100) is Severity.CRITICAL


def test_binary_rules_are_critical() -> None:
    assert severity_for(Scale.BINARY, 1.0, 0.5) is Severity.CRITICAL


def test_rules_are_found_by_alert_type_or_setting_name() -> None:
    assert resolve_rule("slow_response") is RuleName.SLOW_RESPONSE
    assert resolve_rule("response_time_ms") is RuleName.SLOW_RESPONSE
    assert resolve_rule("context_length_utilization") is RuleName.CONTEXT_OVERFLOW
    with pytest.raises(UnknownRuleError):
        resolve_rule("nonsense")


def test_thresholds_come_from_the_settings_with_the_seed_defaults() -> None:
    thresholds = thresholds_from_settings(make_settings(disk_usage_percent=80))
    assert thresholds[RuleName.SLOW_RESPONSE] == 30000
    assert thresholds[RuleName.MODEL_LOAD] == 60000
    assert thresholds[RuleName.CONTEXT_OVERFLOW] == 90
    assert thresholds[RuleName.LOW_SUCCESS_RATE] == 10
    assert thresholds[RuleName.HIGH_MEMORY] == 95
    assert thresholds[RuleName.HIGH_CPU] == 98
    assert thresholds[RuleName.HIGH_GPU] == 95
    assert thresholds[RuleName.DISK_SPACE] == 80
    assert set(thresholds) == set(RULE_SPECS)


def test_threshold_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from ollamon_alerting.settings import AlertingSettings

    monkeypatch.setenv("OLLAMON_ALERT_RESPONSE_TIME_MS", "1234")
    monkeypatch.setenv("OLLAMON_ALERT_FOR_SECONDS", "0")
    settings = AlertingSettings()
    assert settings.response_time_ms == 1234
    assert settings.for_seconds == 0
