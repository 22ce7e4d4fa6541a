"""The forecast series kept across restarts: one entry per host in the state bucket
(`forecast.<hash of host>`), so a restarted alerting forecasts at once instead of after
another hour of a disk's samples.

Written every `SAVE_INTERVAL_SECONDS` (a host's series gain a point every 10 s; a day of a
disk's minutes is about 40 kB of JSON) and at shutdown; restored without the points older
than each kind's window, then forecast again.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ollamon_alerting.forecast_rules import ForecastBook, ResourceSeries
from ollamon_core.insights.forecast import forecast
from ollamon_core.insights.forecast_resources import POLICIES, ResourceKind, Unit

SAVE_INTERVAL_SECONDS = 300.0
MAX_KEPT_POINTS = 2000  # a day of minutes is 1,440
MAX_KEPT_SERIES = 64


class KeptSeries(BaseModel):
    """One resource's points (time in seconds, amount used)."""

    model_config = ConfigDict(extra="forbid")

    kind: ResourceKind
    name: str = Field(min_length=1, max_length=4096)
    unit: Unit
    capacity: float = Field(ge=0)
    points: list[tuple[float, float]] = Field(max_length=MAX_KEPT_POINTS)


class KeptForecasts(BaseModel):
    """A host's series."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1)
    series: list[KeptSeries] = Field(max_length=MAX_KEPT_SERIES)


def host_bytes(book: ForecastBook, host: str) -> bytes:
    """The JSON of a host's series."""
    kept = KeptForecasts(
        host=host,
        series=[
            KeptSeries(
                kind=kind,
                name=name,
                unit=series.unit,
                capacity=series.capacity,
                points=list(series.points),
            )
            for (series_host, kind, name), series in book.series.items()
            if series_host == host and series.points
        ][:MAX_KEPT_SERIES],
    )
    return kept.model_dump_json().encode()


def restore(book: ForecastBook, raw: bytes, now: datetime) -> None:
    """Take up a host's kept series, without points older than their window, and forecast.

    Raises:
        ValidationError: the entry is not one this version wrote.
    """
    kept = KeptForecasts.model_validate_json(raw)
    at = now.timestamp()
    for item in kept.series:
        policy = POLICIES[item.kind]
        points = sorted(p for p in item.points if at - policy.window_seconds <= p[0] <= at)
        if not points:
            continue
        series = ResourceSeries(item.kind, item.unit, item.capacity)
        series.points.extend(points)
        series.latest = forecast(points, item.capacity, policy)
        book.series[(kept.host, item.kind, item.name)] = series
