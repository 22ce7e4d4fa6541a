"""Numbers kept in order as they enter and leave a window: its percentiles, mean and counts
over a threshold without sorting the window again for each request (pure, no I/O)."""

from __future__ import annotations

import math
from bisect import bisect_left, insort

from ollamon_core.stats import percentile_of_sorted

# Every finite float is a whole multiple of 2**-FLOAT_STEP_BITS (the smallest subnormal).
FLOAT_STEP_BITS = 1074


def _steps(value: float) -> int:
    """`value` as an exact whole number of 2**-1074 steps."""
    numerator, denominator = value.as_integer_ratio()  # the denominator is a power of two
    return numerator << (FLOAT_STEP_BITS - denominator.bit_length() + 1)


class SortedValues:
    """A multiset of floats in ascending order.

    Adding or removing costs a binary search and a memmove (microseconds for a window of
    thousands); a percentile reads two items. The sum is kept exactly, as an integer count
    of 2**-1074 (the smallest step of a float, so every finite float is a whole number of
    them): the mean is the correctly rounded mean of the values in the window however many
    came and went, without summing them again. NaN and infinities are not kept (removing
    them is a no-op): they count as no value.
    """

    __slots__ = ("_total", "_values")

    def __init__(self) -> None:
        self._values: list[float] = []
        self._total = 0  # in steps of 2**-1074

    def __len__(self) -> int:
        return len(self._values)

    def add(self, value: float | None) -> None:
        """Keep a value (None and NaN: nothing)."""
        if value is not None and math.isfinite(value):
            insort(self._values, value)
            self._total += _steps(value)

    def remove(self, value: float | None) -> None:
        """Forget one occurrence of a value that was added."""
        if value is None or not math.isfinite(value):
            return
        index = bisect_left(self._values, value)
        if index < len(self._values) and self._values[index] == value:
            del self._values[index]
            self._total -= _steps(value)

    def percentile(self, fraction: float) -> float | None:
        """Linear-interpolated percentile, as `ollamon_core.stats.percentile` computes it."""
        if not self._values:
            return None
        return percentile_of_sorted(self._values, fraction)

    def mean(self) -> float | None:
        """Arithmetic mean; None when empty."""
        if not self._values:
            return None
        return self._total / (len(self._values) << FLOAT_STEP_BITS)

    def count_at_least(self, threshold: float) -> int:
        """How many values are >= threshold."""
        return len(self._values) - bisect_left(self._values, threshold)
