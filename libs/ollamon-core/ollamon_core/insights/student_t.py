"""Student's t: its 95 % quantile, and a small sample's mean with its interval (pure).

Used by the benchmark (the mean of a case's repetitions) and the forecasts (the slope's
interval). Why Student t for the benchmark: it repeats a case a handful of times (3 by
default, at most 20), and with so few samples the normal distribution's 1.96 would draw
intervals far too narrow; t with n - 1 degrees of freedom is the textbook interval for the
mean of a small sample of a roughly normal quantity, which the timing of one repeated
request is. The two-sided 95 % quantiles for 1-30 degrees of freedom are tabulated (to 3
decimals, as in any statistics table); past 30 a Cornish-Fisher expansion around the
normal's is within 0.001 of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ollamon_core.events import Interval

# t(0.975, df) for df = 1..30.
T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
Z_975 = 1.959964


def t_quantile_95(degrees_of_freedom: int) -> float:
    """The two-sided 95 % quantile of Student's t (its 0.975 quantile) for `df` >= 1."""
    if degrees_of_freedom < 1:
        raise ValueError("Student's t needs at least one degree of freedom")
    if degrees_of_freedom <= len(T_975):
        return T_975[degrees_of_freedom - 1]
    z, df = Z_975, float(degrees_of_freedom)
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def t_interval(samples: Sequence[float], *, lowest: float | None = None) -> Interval | None:
    """The mean of `samples` with its 95 % Student t interval; None for no sample.

    One sample gives low == high == mean (no spread is known); the interval is the mean
    plus or minus t * s / sqrt(n), s the sample standard deviation (n - 1 in the divisor).
    Given `lowest` (0 for what is never negative: durations, rates), the low end stops
    there: a widely spread sample of a rate says "somewhere up to high", not a negative rate.
    """
    values = [float(value) for value in samples if math.isfinite(value)]
    count = len(values)
    if count == 0:
        return None
    mean = math.fsum(values) / count
    if count == 1:
        return Interval(mean=mean, low=mean, high=mean, samples=1)
    variance = math.fsum((value - mean) ** 2 for value in values) / (count - 1)
    half = t_quantile_95(count - 1) * math.sqrt(variance / count)
    low = min(mean, mean - half)
    if lowest is not None:
        low = max(low, min(lowest, mean))
    return Interval(mean=mean, low=low, high=max(mean, mean + half), samples=count)
