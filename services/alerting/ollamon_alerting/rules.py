"""The alert rules: their names, the setting each threshold comes from, and how they grade.

A rule fires when its observed value is above its threshold. Every rule's value is "higher is
worse" (a tokens/s regression is expressed as the percent drop below the baseline), so the
lifecycle and the severity mapping treat all rules alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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
    DISK_SPACE = "disk_space"
    OLLAMA_UNREACHABLE = "ollama_unreachable"
    PARTIAL_OFFLOAD = "partial_offload"
    TTFT_P95 = "ttft_p95"
    TOKENS_PER_SECOND_REGRESSION = "tokens_per_second_regression"


class Scale(StrEnum):
    """How far past the threshold a value is measured (see severity.py)."""

    RATIO = "ratio"  # unbounded values (milliseconds): value / threshold
    PERCENT = "percent"  # values capped at 100: share of the headroom above the threshold
    BINARY = "binary"  # up or down: always critical


@dataclass(frozen=True)
class RuleSpec:
    """What alerting knows about one rule."""

    name: RuleName
    setting: str | None
    scale: Scale
    unit: str
    title: str
    inhibited_by_unreachable: bool = False


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
    )
}

# A binary rule's value is 1.0 (down) or 0.0 (up); this threshold sits between them.
BINARY_THRESHOLD = 0.5


class UnknownRuleError(ValueError):
    """A threshold update named no rule."""


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
