"""One metric's anomaly detector: judge each value against the baseline, then learn it (pure).

Each value is judged against the baseline as it was before the value arrived (so an outlier
never widens its own band), then offered to the baseline (which learns at most one value
per spacing). The condition is "k of the last n": the rule's value is the k-th largest
deviation among the last n judged values, so it is over the threshold exactly when at least
k of them are, the same k of n as the per-request rules (decision 0012). Judgements older
than `horizon_seconds` no longer count, so a model that stops being used clears.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from ollamon_core.insights.anomaly import (
    Band,
    BaselinePolicy,
    BaselineState,
    Direction,
    SeasonalBaseline,
)

DEFAULT_HORIZON_SECONDS = 3600.0


@dataclass(frozen=True)
class Judgement:
    """One value against the baseline it was judged by."""

    at: datetime
    observed: float
    deviation: float
    band: Band


@dataclass(frozen=True)
class Finding:
    """The k of n condition of one metric now, with its evidence."""

    value: float  # the k-th largest deviation of the last n (0 when fewer than k)
    over: int  # how many of them are over the threshold
    judged: int  # n: how many were judged
    observed: float  # median of the values over the threshold (of all judged when none)
    band: Band  # the newest judgement's baseline: what is expected now


def kth_largest(values: list[float], k: int) -> float:
    """The k-th largest value (k >= 1), 0 when there are fewer than k."""
    if k < 1 or len(values) < k:
        return 0.0
    return sorted(values, reverse=True)[k - 1]


class MetricDetector:
    """A seasonal baseline and the last judgements of one metric."""

    def __init__(
        self,
        policy: BaselinePolicy,
        direction: Direction,
        requests: int,
        baseline: SeasonalBaseline | None = None,
    ) -> None:
        self.direction = direction
        self.baseline = baseline or SeasonalBaseline(policy)
        self.recent: deque[Judgement] = deque(maxlen=requests)

    def observe(self, at: datetime, value: float) -> tuple[Judgement | None, bool]:
        """Judge a value (None while the baseline learns), then offer it to the baseline.

        Returns:
            The judgement, and whether the baseline learned the value.
        """
        band = self.baseline.band(at)
        judgement = None
        if band is not None and value > 0:
            judgement = Judgement(at, value, band.deviation(value, self.direction), band)
            self.recent.append(judgement)
        return judgement, self.baseline.learn(at, value)

    def finding(
        self,
        now: datetime,
        breaches: int,
        threshold: float,
        horizon_seconds: float = DEFAULT_HORIZON_SECONDS,
    ) -> Finding | None:
        """The k of n condition now; None when nothing was judged within the horizon."""
        while self.recent and (now - self.recent[0].at).total_seconds() > horizon_seconds:
            self.recent.popleft()
        if not self.recent:
            return None
        deviations = [judgement.deviation for judgement in self.recent]
        over = [judgement.observed for judgement in self.recent if judgement.deviation > threshold]
        shown = over or [judgement.observed for judgement in self.recent]
        return Finding(
            value=kth_largest(deviations, breaches),
            over=len(over),
            judged=len(deviations),
            observed=float(median(shown)),
            band=self.recent[-1].band,
        )

    def state(self) -> BaselineState:
        """The baseline to keep across a restart (the judgements are not kept)."""
        return self.baseline.state()
