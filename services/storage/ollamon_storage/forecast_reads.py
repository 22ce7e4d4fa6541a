"""`ollamon.query.forecasts`: when each host's disks, memory and GPU memory will be full.

Per host, the stored system samples of each kind's window before the host's newest sample
(a day for disks, 30 minutes for memory and VRAM), thinned in SQLite to the last sample of
each step (a minute, 10 s: the steps alerting's forecast rules keep), so at most 1,440 and
180 samples are decoded per host. The forecasts are the pure functions alerting uses
(`ollamon_core.insights`), so both say the same of the same samples.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ollamon_core.events import OllamaSystemMetrics
from ollamon_core.events.forecast_queries import ForecastsQuery, ForecastsReply, ResourceForecast
from ollamon_core.insights.forecast import forecast
from ollamon_core.insights.forecast_resources import (
    HOUR,
    POLICIES,
    STEP_SECONDS,
    ResourceKind,
    Unit,
    forecast_text,
    rate_text,
    resource_levels,
)
from ollamon_storage.host_reads import HostReads

_SLOTS_SQL = (
    "SELECT MAX(id) FROM system_samples WHERE host = ? AND ts_ms > ? AND ts_ms <= ? "
    "GROUP BY ts_ms / ?"
)
_DATA_SQL = (
    "SELECT data FROM system_samples WHERE id IN (SELECT value FROM json_each(?)) "
    "ORDER BY ts_ms, id"
)
_NEWEST_SQL = "SELECT MAX(ts_ms) FROM system_samples WHERE host = ?"
DISK_KINDS = (ResourceKind.DISK,)
LIVE_KINDS = (ResourceKind.MEMORY, ResourceKind.VRAM)


class ForecastReads(HostReads):
    """Answers the forecasts query from storage's read-only connection."""

    async def forecasts(self, query: ForecastsQuery) -> ForecastsReply:
        """Every filling resource of the host (or of every host), soonest full first.

        Raises:
            QueryFailedError: a 404 for a host storage does not know.
        """
        found: list[ResourceForecast] = []
        for record in await self.hosts(query.host):
            rows = await self._rows(_NEWEST_SQL, (record.host,))
            if not rows or rows[0][0] is None:
                continue
            newest_ms = int(rows[0][0])
            for kinds in (DISK_KINDS, LIVE_KINDS):
                samples = await self._samples(record.host, newest_ms, kinds[0])
                found.extend(resource_forecasts(record.host, samples, kinds))
        found.sort(key=_soonest_first)
        return ForecastsReply(forecasts=found)

    async def _samples(
        self, host: str, newest_ms: int, kind: ResourceKind
    ) -> list[OllamaSystemMetrics]:
        window_ms = int(POLICIES[kind].window_seconds * 1000)
        step_ms = int(STEP_SECONDS[kind] * 1000)
        ids = await self._rows(_SLOTS_SQL, (host, newest_ms - window_ms, newest_ms, step_ms))
        if not ids:
            return []
        chosen = "[" + ",".join(str(int(row[0])) for row in ids) + "]"
        return await self._models(OllamaSystemMetrics, _DATA_SQL, (chosen,))


def _soonest_first(item: ResourceForecast) -> tuple[bool, float, str, str, str]:
    seconds = item.seconds_to_full
    return (seconds is None, seconds or 0.0, item.host, item.kind.value, item.resource)


def resource_forecasts(
    host: str, samples: list[OllamaSystemMetrics], kinds: Iterable[ResourceKind]
) -> list[ResourceForecast]:
    """The forecast of each resource of `kinds` in `samples` (oldest first) of one host."""
    series: dict[tuple[ResourceKind, str], list[tuple[float, float]]] = {}
    latest: dict[tuple[ResourceKind, str], tuple[float, float, Unit]] = {}
    wanted = set(kinds)
    for sample in samples:
        at = sample.timestamp.timestamp()
        for level in resource_levels(sample):
            if level.kind not in wanted:
                continue
            key = (level.kind, level.name)
            series.setdefault(key, []).append((at, level.used))
            latest[key] = (level.used, level.capacity, level.unit)
    found = []
    for (kind, name), points in series.items():
        used, capacity, unit = latest[(kind, name)]
        policy = POLICIES[kind]
        result = forecast(points, capacity, policy)
        if result is None:
            summary = f"{name}: not enough history for a forecast"
        elif result.seconds_to_full is None:
            summary = f"{name}: not filling"
        else:
            rate = rate_text(result.rate_per_second, unit, kind)
            summary = forecast_text(kind, name, result.seconds_to_full, rate)
        found.append(
            ResourceForecast(
                host=host,
                kind=kind,
                resource=name,
                unit=unit,
                used=used if result is None else result.current,
                capacity=capacity,
                rate_per_hour=None if result is None else result.rate_per_second * HOUR,
                seconds_to_full=None if result is None else result.seconds_to_full,
                soonest_seconds=None if result is None else result.soonest_seconds,
                latest_seconds=None if result is None else result.latest_seconds,
                points=0 if result is None else result.points,
                window_seconds=policy.window_seconds,
                newest_at=datetime.fromtimestamp(points[-1][0], UTC),
                summary=summary,
            )
        )
    return found
