"""Severity by how far past its threshold a value is (the mapping the README documents).

- ratio rules (milliseconds): value / threshold up to 1.25 low, up to 1.5 medium, up to 2
  high, beyond critical;
- percent rules (capped at 100): the share of the headroom between the threshold and 100 that
  the value has used, below 25 % low, below 50 % medium, below 75 % high, else critical;
- binary rules (Ollama unreachable): critical;
- lead rules (forecasts; value and threshold are times left): more than half the lead time
  left medium, more than a sixth high, else critical (a week's disk lead: critical within
  28 hours; an hour's memory lead: within 10 minutes).
"""

from __future__ import annotations

from ollamon_alerting.rules import Scale
from ollamon_core.events import Severity

RATIO_STEPS: tuple[tuple[float, Severity], ...] = (
    (1.25, Severity.LOW),
    (1.5, Severity.MEDIUM),
    (2.0, Severity.HIGH),
)
HEADROOM_STEPS: tuple[tuple[float, Severity], ...] = (
    (0.25, Severity.LOW),
    (0.5, Severity.MEDIUM),
    (0.75, Severity.HIGH),
)
PERCENT_CEILING = 100.0
LEAD_STEPS: tuple[tuple[float, Severity], ...] = (
    (1 / 6, Severity.CRITICAL),
    (1 / 2, Severity.HIGH),
)


def severity_for(scale: Scale, value: float, threshold: float) -> Severity:
    """Grade a value that is past its threshold."""
    if scale is Scale.BINARY:
        return Severity.CRITICAL
    if scale is Scale.LEAD:
        left = value / threshold if threshold > 0 else 0.0
        return next((grade for upper, grade in LEAD_STEPS if left <= upper), Severity.MEDIUM)
    if scale is Scale.RATIO:
        position = value / threshold if threshold > 0 else float("inf")
        steps = RATIO_STEPS
    else:
        headroom = PERCENT_CEILING - threshold
        position = (value - threshold) / headroom if headroom > 0 else float("inf")
        steps = HEADROOM_STEPS
    for upper, severity in steps:
        if position <= upper if scale is Scale.RATIO else position < upper:
            return severity
    return Severity.CRITICAL
