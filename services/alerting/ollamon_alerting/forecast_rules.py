"""The forecast rules: when will a disk, host memory or a GPU's memory be full at its rate.

Each host's resources (`forecast_resources.resource_levels`: every filesystem, memory, every
GPU) keep a series of one point per step (a minute for disks, 10 s for memory and VRAM),
timed by the samples' own timestamps, and a fresh least-squares forecast whenever a point is
added (`ollamon_core.insights.forecast`). Per host and kind, the resource full soonest is
observed: its time left in the rule's unit (hours, minutes), with the sentence of the
forecast as the detail. A lead rule fires at or below its threshold, so it gives its own
verdict; no forecast (too little history, flat, noisy, just cleaned up) clears.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ollamon_alerting.observations import Observation, Verdict
from ollamon_alerting.rules import RuleName
from ollamon_core.events import OllamaSystemMetrics
from ollamon_core.insights.forecast import Forecast, forecast
from ollamon_core.insights.forecast_resources import (
    POLICIES,
    STEP_SECONDS,
    ResourceKind,
    Unit,
    forecast_text,
    rate_text,
    resource_levels,
)

# Each kind's rule and the seconds in its threshold's unit.
FORECAST_RULES: dict[ResourceKind, tuple[RuleName, float]] = {
    ResourceKind.DISK: (RuleName.DISK_FULL_FORECAST, 3600.0),
    ResourceKind.MEMORY: (RuleName.MEMORY_PRESSURE_FORECAST, 60.0),
    ResourceKind.VRAM: (RuleName.VRAM_PRESSURE_FORECAST, 60.0),
}

SeriesKey = tuple[str, ResourceKind, str]  # host, kind, resource name


@dataclass
class ResourceSeries:
    """One resource's points (the latest sample of each step) and its latest forecast."""

    kind: ResourceKind
    unit: Unit
    capacity: float = 0.0
    points: deque[tuple[float, float]] = field(default_factory=deque)
    latest: Forecast | None = None

    def add(self, at: float, used: float, capacity: float) -> bool:
        """Keep a sample: a new step adds a point and forecasts again (True); an older
        sample than the newest point is ignored."""
        step = STEP_SECONDS[self.kind]
        self.capacity = capacity
        if self.points and at < self.points[-1][0]:
            return False
        if self.points and at // step == self.points[-1][0] // step:
            self.points[-1] = (at, used)
            return False
        self.points.append((at, used))
        policy = POLICIES[self.kind]
        while self.points and self.points[0][0] < at - policy.window_seconds:
            self.points.popleft()
        self.latest = forecast(list(self.points), capacity, policy)
        return True


class ForecastBook:
    """Every host's resource series and what the forecast rules observe of them."""

    def __init__(self, hysteresis_fraction: float) -> None:
        self.hysteresis_fraction = hysteresis_fraction
        self.series: dict[SeriesKey, ResourceSeries] = {}
        self.changed: set[str] = set()  # hosts with a new point since the last save

    def observe(
        self, event: OllamaSystemMetrics, thresholds: dict[RuleName, float]
    ) -> list[Observation]:
        """Take a sample's resources; one observation per kind the sample has."""
        at = event.timestamp.timestamp()
        kinds: list[ResourceKind] = []
        for level in resource_levels(event):
            key = (event.host, level.kind, level.name)
            series = self.series.get(key)
            if series is None or series.unit is not level.unit:
                series = self.series[key] = ResourceSeries(level.kind, level.unit)
            if series.add(at, level.used, level.capacity):
                self.changed.add(event.host)
            if level.kind not in kinds:
                kinds.append(level.kind)
        return [self._observation(event.host, kind, thresholds) for kind in kinds]

    def take_changes(self) -> list[str]:
        """The hosts whose series gained a point since the last call (to save)."""
        hosts = sorted(self.changed)
        self.changed.clear()
        return hosts

    def _observation(
        self, host: str, kind: ResourceKind, thresholds: dict[RuleName, float]
    ) -> Observation:
        rule, unit_seconds = FORECAST_RULES[kind]
        soonest: tuple[float, str, Forecast, Unit] | None = None
        for (series_host, series_kind, name), series in self.series.items():
            found = series.latest
            if series_host != host or series_kind is not kind or found is None:
                continue
            if found.seconds_to_full is None:
                continue
            if soonest is None or found.seconds_to_full < soonest[0]:
                soonest = (found.seconds_to_full, name, found, series.unit)
        if soonest is None:
            return Observation(rule, host, None, None, verdict=Verdict.CLEAR)
        seconds, name, found, unit = soonest
        rate = rate_text(found.rate_per_second, unit, kind)
        value = seconds / unit_seconds
        return Observation(
            rule,
            host,
            None,
            value,
            forecast_text(kind, name, seconds, rate),
            verdict=self._verdict(value, thresholds[rule]),
        )

    def _verdict(self, value: float, threshold: float) -> Verdict:
        if value <= threshold:
            return Verdict.BREACH
        if value >= threshold * (1 + self.hysteresis_fraction):
            return Verdict.CLEAR
        return Verdict.HOLD
