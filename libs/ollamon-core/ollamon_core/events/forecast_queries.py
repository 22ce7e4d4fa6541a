"""The stored forecasts query (`ollamon.query.forecasts`): when each disk, host memory and
GPU memory will be full at its recent rate, per host.

Storage answers it from the system samples it kept, with the same pure functions as
alerting's forecast rules (`ollamon_core.insights.forecast`, `.forecast_resources`).
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from ollamon_core.events.base import FrozenModel
from ollamon_core.events.limits import HostLabel
from ollamon_core.insights.forecast_resources import ResourceKind, Unit


class ForecastsQuery(FrozenModel):
    """Ask for the forecasts of one host (every host storage knows when None)."""

    host: HostLabel | None = Field(default=None, description="Only this host")


class ResourceForecast(FrozenModel):
    """One resource of one host: how full, how fast, and when full at that rate."""

    host: str
    kind: ResourceKind = Field(description="disk, memory or vram")
    resource: str = Field(description="The mount point, 'memory', or the GPU")
    unit: Unit = Field(description="What used, capacity and the rate count: bytes or percent")
    used: float = Field(description="Amount in use at the newest sample (fitted line)")
    capacity: float = Field(description="Amount at which the resource is full")
    rate_per_hour: float | None = Field(
        default=None, description="Fill rate (unit per hour) of the fitted line; None without one"
    )
    seconds_to_full: float | None = Field(
        default=None,
        description="Time to full from the newest sample at the fitted rate; None when not "
        "filling (flat, noisy, too little history since the last cleanup)",
    )
    soonest_seconds: float | None = Field(
        default=None, description="Time to full at the fast end of the rate's 95 % interval"
    )
    latest_seconds: float | None = Field(
        default=None, description="Time to full at the slow end of the rate's 95 % interval"
    )
    points: int = Field(default=0, description="Points the line was fitted to (0: none)")
    window_seconds: float = Field(description="History the forecast looks at")
    newest_at: AwareDatetime = Field(description="Time of the newest sample")
    summary: str = Field(description="The forecast in words: 'disk / full in ~9 days at ...'")


class ForecastsReply(FrozenModel):
    """Every filling resource of the host(s), soonest full first."""

    forecasts: list[ResourceForecast] = Field(default_factory=list)
