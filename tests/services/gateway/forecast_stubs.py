"""Storage's stand-in answer to the forecasts query: a disk filling over days, memory
steady, a GPU's memory filling within the hour."""

from __future__ import annotations

from ollamon_core.events import utc_now
from ollamon_core.events.forecast_queries import ForecastsQuery, ForecastsReply, ResourceForecast
from ollamon_core.insights.forecast_resources import ResourceKind, Unit

GB = 10**9
DAY = 86400.0
DISK_SUMMARY = "disk / full in ~9 days at 2.1 GB/day"
VRAM_SUMMARY = "GPU 0 (NVIDIA H200) full in ~40 minutes at 30.0 GB/hour"


def forecasts_reply(query: ForecastsQuery) -> ForecastsReply:
    """The stand-in's forecasts (of `query.host`, or of its one host `test-host`)."""
    host = query.host or "test-host"
    now = utc_now()
    return ForecastsReply(
        forecasts=[
            ResourceForecast(
                host=host,
                kind=ResourceKind.VRAM,
                resource="GPU 0 (NVIDIA H200)",
                unit=Unit.BYTES,
                used=120 * GB,
                capacity=140 * GB,
                rate_per_hour=30 * GB,
                seconds_to_full=2400.0,
                soonest_seconds=2200.0,
                latest_seconds=2700.0,
                points=180,
                window_seconds=1800.0,
                newest_at=now,
                summary=VRAM_SUMMARY,
            ),
            ResourceForecast(
                host=host,
                kind=ResourceKind.DISK,
                resource="/",
                unit=Unit.BYTES,
                used=481 * GB,
                capacity=500 * GB,
                rate_per_hour=2.1 * GB / 24,
                seconds_to_full=9.2 * DAY,
                soonest_seconds=8.5 * DAY,
                latest_seconds=10.1 * DAY,
                points=1440,
                window_seconds=DAY,
                newest_at=now,
                summary=DISK_SUMMARY,
            ),
            ResourceForecast(
                host=host,
                kind=ResourceKind.MEMORY,
                resource="memory",
                unit=Unit.BYTES,
                used=40 * GB,
                capacity=128 * GB,
                rate_per_hour=0.0,
                points=180,
                window_seconds=1800.0,
                newest_at=now,
                summary="memory: not filling",
            ),
        ]
    )
