"""The alert rules: their names, the setting each threshold comes from, and how they grade.

A rule fires when its observed value is above its threshold (at or above for an `inclusive`
rule). Every rule's value is "higher is worse" (a tokens/s regression is expressed as the
percent drop below the baseline), so the lifecycle and the severity mapping treat all rules
alike. The per-request rules (`PER_REQUEST_RULES`) are judged over the last requests of the
window (`request_rules.py`). The forecasts (`Scale.LEAD`) are the exception: their value is
the time left until a resource is full and their threshold a lead time, so they fire at or
below it and give their own verdict (`forecast_rules.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

import annotated_types

from ollamon_alerting.settings import AlertingSettings


class RuleName(StrEnum):
    """Every alert rule; the value is the `alert_type` of its alerts."""

    SLOW_RESPONSE = "slow_response"
    MODEL_LOAD = "model_load"
    CONTEXT_OVERFLOW = "context_overflow"
    LOW_SUCCESS_RATE = "low_success_rate"
    HIGH_MEMORY = "high_memory"
    HIGH_CPU = "high_cpu"
    HIGH_GPU = "high_gpu"
    VRAM_FULL = "vram_full"
    DISK_SPACE = "disk_space"
    OLLAMA_UNREACHABLE = "ollama_unreachable"
    PARTIAL_OFFLOAD = "partial_offload"
    TTFT_P95 = "ttft_p95"
    TOKENS_PER_SECOND_REGRESSION = "tokens_per_second_regression"
    TELEMETRY_BACKLOG = "telemetry_backlog"
    PROXY_BYPASSED = "proxy_bypassed"
    PERFORMANCE_ANOMALY = "performance_anomaly"
    DISK_FULL_FORECAST = "disk_full_forecast"
    MEMORY_PRESSURE_FORECAST = "memory_pressure_forecast"
    VRAM_PRESSURE_FORECAST = "vram_pressure_forecast"


class Scale(StrEnum):
    """How far past the threshold a value is measured (see severity.py)."""

    RATIO = "ratio"  # unbounded values (milliseconds): value / threshold
    PERCENT = "percent"  # values capped at 100: share of the headroom above the threshold
    BINARY = "binary"  # up or down: always critical
    LEAD = "lead"  # time left (lower is worse): the share of the lead time left


@dataclass(frozen=True)
class RuleSpec:
    """What alerting knows about one rule."""

    name: RuleName
    setting: str | None
    scale: Scale
    unit: str
    title: str
    inhibited_by_unreachable: bool = False
    inclusive: bool = False  # fires at the threshold itself (>=), not only above it


RULE_SPECS: dict[RuleName, RuleSpec] = {
    spec.name: spec
    for spec in (
        RuleSpec(
            RuleName.SLOW_RESPONSE,
            "response_time_ms",
            Scale.RATIO,
            "ms",
            "slow response",
            inhibited_by_unreachable=True,
        ),
        RuleSpec(RuleName.MODEL_LOAD, "model_load_time_ms", Scale.RATIO, "ms", "slow model load"),
        RuleSpec(
            RuleName.CONTEXT_OVERFLOW,
            "context_length_utilization",
            Scale.PERCENT,
            "%",
            "context nearly full",
        ),
        RuleSpec(
            RuleName.LOW_SUCCESS_RATE,
            "error_rate_percent",
            Scale.PERCENT,
            "% failed",
            "low success rate",
            inhibited_by_unreachable=True,
        ),
        RuleSpec(RuleName.HIGH_MEMORY, "memory_usage_percent", Scale.PERCENT, "%", "high memory"),
        RuleSpec(RuleName.HIGH_CPU, "cpu_usage_percent", Scale.PERCENT, "%", "high CPU"),
        RuleSpec(RuleName.HIGH_GPU, "gpu_usage_percent", Scale.PERCENT, "%", "high GPU"),
        RuleSpec(
            RuleName.VRAM_FULL,
            "gpu_memory_percent",
            Scale.PERCENT,
            "% of VRAM",
            "GPU memory full",
            inclusive=True,
        ),
        RuleSpec(RuleName.DISK_SPACE, "disk_usage_percent", Scale.PERCENT, "%", "disk nearly full"),
        RuleSpec(RuleName.OLLAMA_UNREACHABLE, None, Scale.BINARY, "", "Ollama unreachable"),
        RuleSpec(
            RuleName.PARTIAL_OFFLOAD,
            "cpu_offload_percent",
            Scale.PERCENT,
            "% on CPU",
            "model partly offloaded to CPU",
        ),
        RuleSpec(
            RuleName.TTFT_P95,
            "time_to_first_token_p95_ms",
            Scale.RATIO,
            "ms",
            "slow first token (p95)",
            inhibited_by_unreachable=True,
        ),
        RuleSpec(
            RuleName.TOKENS_PER_SECOND_REGRESSION,
            "tokens_per_second_drop_percent",
            Scale.PERCENT,
            "% below baseline",
            "tokens/s below the model's baseline",
        ),
        RuleSpec(
            RuleName.TELEMETRY_BACKLOG,
            "telemetry_backlog_seconds",
            Scale.RATIO,
            "s",
            "telemetry waiting in a disk spool",
        ),
        RuleSpec(
            RuleName.PROXY_BYPASSED,
            "proxy_bypassed_percent",
            Scale.PERCENT,
            "% of requests",
            "requests bypassing the proxy",
        ),
        RuleSpec(
            RuleName.PERFORMANCE_ANOMALY,
            "anomaly_deviations",
            Scale.RATIO,
            "robust SD",
            "performance unlike the model's own baseline",
            inhibited_by_unreachable=True,
        ),
        RuleSpec(
            RuleName.DISK_FULL_FORECAST,
            "disk_full_forecast_hours",
            Scale.LEAD,
            "hours",
            "disk filling up",
        ),
        RuleSpec(
            RuleName.MEMORY_PRESSURE_FORECAST,
            "memory_pressure_forecast_minutes",
            Scale.LEAD,
            "minutes",
            "memory filling up",
        ),
        RuleSpec(
            RuleName.VRAM_PRESSURE_FORECAST,
            "vram_pressure_forecast_minutes",
            Scale.LEAD,
            "minutes",
            "GPU memory filling up",
        ),
    )
}

# Judged on each request, over the last requests of the window (k of n, or one severe breach).
PER_REQUEST_RULES = (RuleName.SLOW_RESPONSE, RuleName.MODEL_LOAD, RuleName.CONTEXT_OVERFLOW)

# A binary rule's value is 1.0 (down) or 0.0 (up); this threshold sits between them.
BINARY_THRESHOLD = 0.5


class UnknownRuleError(ValueError):
    """A threshold update named no rule."""


class ThresholdRejectedError(ValueError):
    """A threshold outside its rule's range (or for a rule that has none to set)."""


def resolve_rule(name: str) -> RuleName:
    """Find a rule by its alert type (`slow_response`) or its setting (`response_time_ms`).

    Raises:
        UnknownRuleError: when `name` is neither.
    """
    for spec in RULE_SPECS.values():
        if name in (spec.name.value, spec.setting):
            return spec.name
    raise UnknownRuleError(f"unknown alert rule {name!r}")


def thresholds_from_settings(settings: AlertingSettings) -> dict[RuleName, float]:
    """Every rule's threshold, read from the settings."""
    thresholds: dict[RuleName, float] = {}
    for spec in RULE_SPECS.values():
        value = BINARY_THRESHOLD if spec.setting is None else getattr(settings, spec.setting)
        thresholds[spec.name] = float(value)
    return thresholds


@dataclass(frozen=True)
class ThresholdRange:
    """The values a rule's threshold may take: the bounds of its setting."""

    low: float = -math.inf
    low_inclusive: bool = True
    high: float = math.inf
    high_inclusive: bool = True

    @classmethod
    def of_setting(cls, setting: str) -> ThresholdRange:
        """The bounds declared on an `AlertingSettings` field (gt/ge/lt/le)."""
        found = cls()
        for bound in AlertingSettings.model_fields[setting].metadata:
            match bound:
                case annotated_types.Gt(gt=int() | float() as value):
                    found = replace(found, low=float(value), low_inclusive=False)
                case annotated_types.Ge(ge=int() | float() as value):
                    found = replace(found, low=float(value), low_inclusive=True)
                case annotated_types.Lt(lt=int() | float() as value):
                    found = replace(found, high=float(value), high_inclusive=False)
                case annotated_types.Le(le=int() | float() as value):
                    found = replace(found, high=float(value), high_inclusive=True)
        return found

    def admits(self, value: float) -> bool:
        """True for a finite value within the bounds."""
        above = value >= self.low if self.low_inclusive else value > self.low
        below = value <= self.high if self.high_inclusive else value < self.high
        return math.isfinite(value) and above and below

    def __str__(self) -> str:
        low = f"{'>=' if self.low_inclusive else '>'} {self.low:.15g}"
        high = f"{'<=' if self.high_inclusive else '<'} {self.high:.15g}"
        return f"{low} and {high}"


def check_threshold(rule: RuleName, value: float) -> None:
    """Accept a runtime threshold only within the bounds of the rule's own setting.

    The same bounds hold for `OLLAMON_ALERT_*` at start (percent rules within 0-100,
    millisecond rules within a day), so a threshold from the bus is never one the settings
    would refuse.

    Raises:
        ThresholdRejectedError: the value is not finite, is out of range, or the rule has
            no threshold to set (Ollama unreachable is up or down).
    """
    setting = RULE_SPECS[rule].setting
    if setting is None:
        raise ThresholdRejectedError(f"{rule} has no threshold to set")
    allowed = ThresholdRange.of_setting(setting)
    if not allowed.admits(value):
        raise ThresholdRejectedError(
            f"threshold {value!r} of {rule} is out of range: must be {allowed}"
        )
