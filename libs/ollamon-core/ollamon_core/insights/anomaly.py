"""A robust, seasonal baseline of one request metric, and how far a value lies from it (pure).

The baseline is the median and the MAD (median absolute deviation) of the logarithm of the
metric's recent values: latency, time to first token and tokens/s vary by ratios (a reply
twice as long, a GPU half as fast), and a median/MAD ignores the outliers that a mean and a
standard deviation would learn. The spread is MAD x 1.4826 (a normal sample's standard
deviation), never below `spread_floor`, so a very steady series (an emulator, a cached
reply) does not call a 3 % change an anomaly.

Seasonality by hour of day (UTC): each hour keeps its own ring of values; once the hour of a
request holds `min_hour_samples`, the request is judged against that hour's baseline, else
against the overall ring (the most recent values of any hour). A nightly batch that makes
every request slow from 02:00 to 03:00 is an anomaly the first night and expected after.

Memory is bounded: rings of `overall_size` and 24 x `hour_size` floats, filled at most one
value per `learn_spacing_seconds` (the first value after the spacing: a sample of the
traffic, not all of it), so a busy model's baseline covers hours, not seconds, and a step
change stays an anomaly for at least `hour_size / 2` spacings before it is learned as normal.

Why median/MAD by hour and not an EWMA: `docs/decisions/0020-anomaly-baselines.md`.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from statistics import median

from pydantic import BaseModel, Field

MAD_TO_SIGMA = 1.4826
HOURS_PER_DAY = 24


class Direction(StrEnum):
    """Which way a metric gets worse."""

    HIGHER_IS_WORSE = "higher"  # latency, time to first token
    LOWER_IS_WORSE = "lower"  # tokens/s


@dataclass(frozen=True)
class BaselinePolicy:
    """The sizes and floors of a seasonal baseline."""

    overall_size: int = 128
    hour_size: int = 32
    min_samples: int = 30
    min_hour_samples: int = 20
    learn_spacing_seconds: float = 60.0
    spread_floor: float = 0.05  # natural log units: about 5 %


@dataclass(frozen=True)
class Band:
    """What a baseline expects: a median and a spread (both of the logarithm)."""

    center: float  # median of log(value)
    spread: float  # robust standard deviation of log(value), at least the floor
    samples: int
    hour: int | None  # the hour of day (UTC) whose baseline this is; None: the overall one

    @property
    def expected(self) -> float:
        """The expected value, in the metric's own unit."""
        return math.exp(self.center)

    def limits(self, deviations: float) -> tuple[float, float]:
        """The band (low, high) `deviations` robust standard deviations either side."""
        return (
            math.exp(self.center - deviations * self.spread),
            math.exp(self.center + deviations * self.spread),
        )

    def deviation(self, value: float, direction: Direction) -> float:
        """How many robust standard deviations `value` lies beyond the median on the worse
        side (0 on the better side or for a value that is not positive)."""
        if value <= 0:
            return 0.0
        z = (math.log(value) - self.center) / self.spread
        return max(0.0, z if direction is Direction.HIGHER_IS_WORSE else -z)


def robust_center_spread(values: Sequence[float], floor: float) -> tuple[float, float]:
    """Median and MAD x 1.4826 (at least `floor`) of non-empty `values`."""
    center = median(values)
    spread = MAD_TO_SIGMA * median([abs(value - center) for value in values])
    return center, max(spread, floor)


class Ring:
    """The newest `size` floats, oldest first when read."""

    __slots__ = ("_next", "_values", "size")

    def __init__(self, size: int, values: Iterable[float] = ()) -> None:
        self.size = size
        self._values = array("d")
        self._next = 0
        for value in values:
            self.append(value)

    def __len__(self) -> int:
        return len(self._values)

    def append(self, value: float) -> None:
        """Keep a value, dropping the oldest once full."""
        if len(self._values) < self.size:
            self._values.append(value)
            return
        self._values[self._next] = value
        self._next = (self._next + 1) % self.size

    def values(self) -> list[float]:
        """The values, oldest first."""
        return list(self._values[self._next :]) + list(self._values[: self._next])


class BaselineState(BaseModel):
    """A seasonal baseline as kept across restarts: log values, oldest first."""

    overall: list[float] = Field(default_factory=list)
    hours: dict[int, list[float]] = Field(default_factory=dict)
    learned_at: float | None = None  # seconds since the epoch of the newest learned value


class SeasonalBaseline:
    """Median/MAD of one metric's log values, overall and per hour of day (UTC)."""

    def __init__(self, policy: BaselinePolicy) -> None:
        self.policy = policy
        self.overall = Ring(policy.overall_size)
        self.hours: dict[int, Ring] = {}
        self.learned_at: float | None = None
        self._bands: dict[int | None, Band] = {}  # cached until that ring changes

    def learn(self, at: datetime, value: float) -> bool:
        """Take a positive value into the baseline unless one was taken within the spacing.

        Returns:
            True when the value was learned.
        """
        seconds = at.timestamp()
        if value <= 0 or not math.isfinite(value):
            return False
        if self.learned_at is not None and 0 <= seconds - self.learned_at < (
            self.policy.learn_spacing_seconds
        ):
            return False
        logged = math.log(value)
        self.overall.append(logged)
        self.hours.setdefault(at.hour, Ring(self.policy.hour_size)).append(logged)
        self._bands.pop(None, None)
        self._bands.pop(at.hour, None)
        self.learned_at = seconds
        return True

    def band(self, at: datetime) -> Band | None:
        """The baseline that judges a value at `at`: None while the overall one is still
        learning (fewer than `min_samples`), then its hour's once that hour holds enough
        values, else the overall one."""
        if len(self.overall) < self.policy.min_samples:
            return None
        hour_ring = self.hours.get(at.hour)
        if hour_ring is not None and len(hour_ring) >= self.policy.min_hour_samples:
            return self._band(at.hour, hour_ring)
        return self._band(None, self.overall)

    def _band(self, hour: int | None, ring: Ring) -> Band:
        band = self._bands.get(hour)
        if band is None:
            center, spread = robust_center_spread(ring.values(), self.policy.spread_floor)
            band = Band(center=center, spread=spread, samples=len(ring), hour=hour)
            self._bands[hour] = band
        return band

    def state(self) -> BaselineState:
        """What to keep across a restart."""
        return BaselineState(
            overall=[round(value, 5) for value in self.overall.values()],
            hours={
                hour: [round(value, 5) for value in ring.values()]
                for hour, ring in sorted(self.hours.items())
            },
            learned_at=self.learned_at,
        )

    @classmethod
    def from_state(cls, state: BaselineState, policy: BaselinePolicy) -> SeasonalBaseline:
        """A baseline taken up from `state` (non-finite values and unknown hours dropped,
        rings cut to the policy's sizes)."""
        baseline = cls(policy)
        baseline.overall = Ring(policy.overall_size, _finite(state.overall))
        for hour, values in state.hours.items():
            if 0 <= hour < HOURS_PER_DAY:
                baseline.hours[hour] = Ring(policy.hour_size, _finite(values))
        baseline.learned_at = state.learned_at
        return baseline


def _finite(values: Iterable[float]) -> list[float]:
    return [value for value in values if math.isfinite(value)]
