"""Small statistics over plain floats: percentiles and summaries (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile (`fraction` in 0..1) of `values`; None when empty."""
    if not values:
        return None
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within 0..1, got {fraction}")
    return percentile_of_sorted(sorted(values), fraction)


def percentile_of_sorted(ordered: Sequence[float], fraction: float) -> float:
    """`percentile` of values already in ascending order (not empty; `fraction` in 0..1):
    for those who keep their values sorted as they arrive."""
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return float(ordered[lower])
    weight = position - lower
    return float(ordered[lower] * (1 - weight) + ordered[upper] * weight)


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean; None when empty."""
    if not values:
        return None
    return float(sum(values) / len(values))
