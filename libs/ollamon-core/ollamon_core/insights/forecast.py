"""When a resource will be full: a least-squares line over a window, like Prometheus'
`predict_linear`, with the interval its residuals allow (pure, no I/O).

- The line is fitted to the points since the last cleanup: a fall larger than six robust
  standard deviations of the steps (and than `reset_fraction` of the capacity) starts the
  trend again, so a `docker image prune` does not leave yesterday's fill rate behind.
- A forecast needs `min_points` points spread over at least `min_span_seconds`; fewer is no
  forecast (None), never a guess.
- A resource is filling only when the slope's 95 % interval (Student t on the residuals)
  lies above zero: a flat or noisy series has an interval around zero and no time to full.
- The time to full runs from the fitted value at the newest point to the capacity at the
  fitted rate; `soonest` and `latest` use the ends of the slope's interval.

Why a straight line and not Holt's trend: `docs/decisions/0021-forecasts.md`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ollamon_core.insights.student_t import t_quantile_95

MAD_TO_SIGMA = 1.4826
RESET_SIGMAS = 6.0


@dataclass(frozen=True)
class ForecastPolicy:
    """How much history a forecast looks at and needs."""

    window_seconds: float
    min_points: int = 10
    min_span_seconds: float = 0.0
    reset_fraction: float = 0.005  # a cleanup frees at least this share of the capacity


@dataclass(frozen=True)
class LinearFit:
    """A least-squares line: the value at `at` and the slope per second with its interval."""

    at: float
    value: float
    slope: float
    slope_low: float
    slope_high: float
    points: int
    span_seconds: float


@dataclass(frozen=True)
class Forecast:
    """How soon a resource is full at its fitted rate (seconds from the newest point)."""

    current: float
    capacity: float
    rate_per_second: float
    seconds_to_full: float | None
    soonest_seconds: float | None
    latest_seconds: float | None
    points: int
    span_seconds: float

    @property
    def filling(self) -> bool:
        """True when the resource will be full at the fitted rate."""
        return self.seconds_to_full is not None


def linear_fit(points: Sequence[tuple[float, float]]) -> LinearFit | None:
    """Ordinary least squares of value on time; None for fewer than three points or no span.

    Args:
        points: (time in seconds, value), oldest first.
    """
    n = len(points)
    if n < 3:  # a residual needs a degree of freedom
        return None
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((t - mean_t) ** 2 for t, _ in points)
    if sxx <= 0:
        return None
    sxy = sum((t - mean_t) * (y - mean_y) for t, y in points)
    slope = sxy / sxx
    sse = sum((y - mean_y - slope * (t - mean_t)) ** 2 for t, y in points)
    margin = t_quantile_95(n - 2) * math.sqrt(max(sse, 0.0) / (n - 2) / sxx)
    last = points[-1][0]
    return LinearFit(
        at=last,
        value=mean_y + slope * (last - mean_t),
        slope=slope,
        slope_low=slope - margin,
        slope_high=slope + margin,
        points=n,
        span_seconds=last - points[0][0],
    )


def since_last_reset(
    points: Sequence[tuple[float, float]], capacity: float, reset_fraction: float
) -> Sequence[tuple[float, float]]:
    """The points from the last cleanup on: after the newest fall larger than six robust
    standard deviations of the steps and than `reset_fraction` of the capacity."""
    if len(points) < 3:
        return points
    steps = [b[1] - a[1] for a, b in itertools.pairwise(points)]
    ordered = sorted(steps)
    median = ordered[len(ordered) // 2]
    spread = sorted(abs(step - median) for step in steps)[len(steps) // 2] * MAD_TO_SIGMA
    floor = max(RESET_SIGMAS * spread, reset_fraction * capacity)
    for index in range(len(steps) - 1, -1, -1):
        if steps[index] < -floor:
            return points[index + 1 :]
    return points


def forecast(
    points: Sequence[tuple[float, float]], capacity: float, policy: ForecastPolicy
) -> Forecast | None:
    """When `points` reach `capacity`; None without enough history since the last reset.

    Args:
        points: (time in seconds, amount used), oldest first; only the last
            `policy.window_seconds` before the newest point count.
        capacity: the amount at which the resource is full (same unit as the points).
        policy: the window and what a forecast needs.
    """
    if not points or capacity <= 0:
        return None
    start = points[-1][0] - policy.window_seconds
    recent = [point for point in points if point[0] >= start]
    recent = list(since_last_reset(recent, capacity, policy.reset_fraction))
    fit = linear_fit(recent)
    if fit is None or fit.points < policy.min_points or fit.span_seconds < policy.min_span_seconds:
        return None
    current = min(max(fit.value, 0.0), capacity)
    headroom = capacity - current
    filling = fit.slope_low > 0
    return Forecast(
        current=current,
        capacity=capacity,
        rate_per_second=fit.slope,
        seconds_to_full=headroom / fit.slope if filling else None,
        soonest_seconds=headroom / fit.slope_high if filling else None,
        latest_seconds=headroom / fit.slope_low if filling else None,
        points=fit.points,
        span_seconds=fit.span_seconds,
    )
