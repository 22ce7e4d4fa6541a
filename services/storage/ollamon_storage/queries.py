"""Answers to the history queries, read from SQLite on a read-only connection.

Aggregates come from rollups (`period_reads.py`: a few dozen rows per model for a day),
never from scanning raw request rows; raw rows are only read by index for "latest" lists.
What storage knows per host is read by `host_reads.py`. Stored JSON is read through
`redact_text` (`reader.py`), so no reply holds a URL's credentials (not even from rows
stored before redaction existed).
"""

from __future__ import annotations

import math
import time

import aiosqlite

from ollamon_core.bus import QueryFailedError
from ollamon_core.events import (
    AlertAudit,
    ModelLifecycleEvent,
    NotificationDelivery,
    OllamaModelMetrics,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
)
from ollamon_core.events import queries as q
from ollamon_storage import aggregates, delivery_log, fleet
from ollamon_storage.host_reads import HostReads
from ollamon_storage.hour_cache import CompleteHoursCache
from ollamon_storage.period_reads import FAR_FUTURE_S, PeriodReads
from ollamon_storage.reader import where_equal
from ollamon_storage.rollups import HOUR_SECONDS, MINUTE_SECONDS

MAX_MINUTE_TREND_HOURS = 48.0
MAX_IDS_PER_SELECT = 500
# Above this many samples in a period, system history is thinned in SQL (one per slot).
THIN_IN_SQL_ABOVE_ROWS = 20_000

# Filters on optional values, as every query spells them.
_where = where_equal


def bad_request(reason: str) -> QueryFailedError:
    """A 400 answer with the reason."""
    return QueryFailedError(q.QueryError(error=reason, status_code=400))


class QueryService(HostReads, PeriodReads):
    """Every read-only query, over one connection."""

    def __init__(self, conn: aiosqlite.Connection, hour_cache: CompleteHoursCache | None = None):
        super().__init__(conn)
        self.hour_cache = hour_cache or CompleteHoursCache()

    async def summary(self, request: q.SummaryQuery) -> q.SummaryReply:
        """Models per host, hosts, the fleet, alerts and recommendations of the last hours."""
        records = await self.hosts(request.host)
        by_host_model = await self.period_by_host_model(request.hours, host=request.host)
        scores = await self.latest_scores(sorted(by_host_model))
        models = [
            aggregates.model_summary(
                name, host, rollup, scores[(host, name)].score if (host, name) in scores else None
            )
            for (host, name), rollup in sorted(
                by_host_model.items(), key=lambda item: (item[0][1], item[0][0])
            )
        ]
        states = await self.host_states(request.host)
        active = await self.active_alerts(None, request.host)
        hosts = fleet.host_summaries(records, states, models, active, int(time.time() * 1000))
        bypassed = await self.bypassed_by_host(request.hours, request.host)
        hosts = [
            host.model_copy(update={"bypassed_requests": bypassed.get(host.host, 0)})
            for host in hosts
        ]
        recent_sql, parameters = _where(
            "SELECT data FROM alerts WHERE 1", (("host", request.host),)
        )
        recent_alerts = await self._models(
            OllamaPerformanceAlert,
            f"{recent_sql} ORDER BY ts_ms DESC LIMIT ?",
            (*parameters, request.recent_alert_limit),
        )
        system = hosts[0].latest_system if len(hosts) == 1 else None
        return q.SummaryReply(
            hours=request.hours,
            host=request.host,
            total_requests=sum(model.request_count for model in models),
            bypassed_requests=sum(bypassed.values()),
            models=models,
            hosts=hosts,
            fleet=fleet.fleet_rollup(hosts, models, active),
            latest_system=system,
            gpu_available=any(host.gpu_available for host in hosts),
            recent_alerts=recent_alerts,
            active_alerts=active,
            recommendations=aggregates.recommendations_from(list(scores.values())),
        )

    async def bypassed_by_host(self, hours: float, host: str | None) -> dict[str, int]:
        """Requests of the last `hours` that only Ollama's log saw, per host (the partial
        index `requests_from_log` of the same condition)."""
        since_ms = int((time.time() - hours * 3600) * 1000)
        sql, parameters = _where(
            "SELECT host, COUNT(*) FROM requests WHERE json_extract(data, '$.source') = 'log' "
            "AND ts_ms >= ?",
            (("host", host),),
        )
        async with self.conn.execute(f"{sql} GROUP BY host", (since_ms, *parameters)) as cursor:
            return {row[0]: int(row[1]) for row in await cursor.fetchall()}

    async def model_metrics(self, request: q.ModelMetricsQuery) -> q.ModelMetricsReply:
        """One model's aggregates (merged and per host), latest requests and the host's score."""
        await self.hosts(request.host)
        name = request.model_name
        by_host_model = await self.period_by_host_model(request.hours, name, request.host)
        scores = await self.latest_scores(sorted(by_host_model))
        by_host = [
            aggregates.model_summary(name, host, rollup, score.score if score else None)
            for (host, _), rollup in sorted(by_host_model.items())
            for score in [scores.get((host, name))]
        ]
        latest_score = None
        if request.host is not None:
            latest_score = (await self.latest_scores([(request.host, name)])).get(
                (request.host, name)
            )
        elif len(by_host) == 1:
            latest_score = scores.get((by_host[0].host or "", name))
        summary = None
        if len(by_host) == 1:
            summary = by_host[0]
        elif by_host:
            summary = aggregates.model_summary(name, None, fleet.merge_hosts(by_host_model))
        since_ms = int((time.time() - request.hours * 3600) * 1000)
        recent_sql, parameters = _where(
            "SELECT data FROM requests WHERE model_name = ? AND ts_ms >= ?",
            (("host", request.host),),
        )
        recent = await self._models(
            OllamaModelMetrics,
            f"{recent_sql} ORDER BY ts_ms DESC LIMIT ?",
            (name, since_ms, *parameters, request.recent_limit),
        )
        return q.ModelMetricsReply(
            summary=summary, by_host=by_host, recent=recent, latest_score=latest_score
        )

    async def system_history(self, request: q.SystemHistoryQuery) -> q.SystemHistoryReply:
        """System samples of the last hours, oldest first, thinned evenly to the limit.

        Without a host, each host is thinned on its own to its share of the limit, so a
        host that samples often never crowds out another. A long period (more rows than
        `THIN_IN_SQL_ABOVE_ROWS`, e.g. 7 days of 5 s samples) is first thinned in SQLite to
        the last sample of each time slot per host, so its rows never travel to Python.
        """
        await self.hosts(request.host)
        period_ms = request.hours * 3_600_000
        since_ms = int(time.time() * 1000 - period_ms)
        counts_sql, parameters = _where(
            "SELECT host, COUNT(*) FROM system_samples WHERE ts_ms >= ?", (("host", request.host),)
        )
        counts = await self._rows(f"{counts_sql} GROUP BY host", (since_ms, *parameters))
        total = sum(int(row[1]) for row in counts)
        share = max(1, request.limit // max(1, len(counts)))
        if total > THIN_IN_SQL_ABOVE_ROWS:
            slot_ms = max(1, math.ceil(period_ms / max(1, share - 2)))
            sql, _ = _where(
                "SELECT MAX(id), host FROM system_samples WHERE ts_ms >= ?",
                (("host", request.host),),
            )
            id_rows = await self._rows(
                f"{sql} GROUP BY host, ts_ms / ? ORDER BY 1", (since_ms, *parameters, slot_ms)
            )
        else:
            sql, _ = _where(
                "SELECT id, host FROM system_samples WHERE ts_ms >= ?", (("host", request.host),)
            )
            id_rows = await self._rows(f"{sql} ORDER BY ts_ms, id", (since_ms, *parameters))
        positions: dict[str, list[int]] = {}
        for position, row in enumerate(id_rows):
            positions.setdefault(str(row[1]), []).append(position)
        kept = sorted(
            host_positions[index]
            for host_positions in positions.values()
            for index in aggregates.thin_evenly(len(host_positions), share)
        )
        chosen = [id_rows[position][0] for position in kept]
        samples: list[OllamaSystemMetrics] = []
        for start in range(0, len(chosen), MAX_IDS_PER_SELECT):
            chunk = chosen[start : start + MAX_IDS_PER_SELECT]
            marks = ", ".join("?" for _ in chunk)
            samples.extend(
                await self._models(
                    OllamaSystemMetrics,
                    f"SELECT data FROM system_samples WHERE id IN ({marks}) "  # noqa: S608
                    "ORDER BY ts_ms, id",
                    chunk,
                )
            )
        return q.SystemHistoryReply(samples=samples, total_in_period=total)

    async def active_alerts(
        self, severity: str | None, host: str | None = None
    ) -> list[OllamaPerformanceAlert]:
        """Alerts whose latest state is firing, newest first (of one host when given)."""
        sql, parameters = _where(
            "SELECT data FROM alert_state WHERE state = 'firing'", (("severity", severity),)
        )
        firing = await self._models(
            OllamaPerformanceAlert, f"{sql} ORDER BY ts_ms DESC", parameters
        )
        return [alert for alert in firing if host is None or alert.host == host]

    async def alerts(self, request: q.AlertsQuery) -> q.AlertsReply:
        """Alert history (newest first, optionally one severity or host) and those firing now."""
        await self.hosts(request.host)
        severity = None if request.severity is None else request.severity.value
        sql, parameters = _where(
            "SELECT data FROM alerts WHERE 1", (("severity", severity), ("host", request.host))
        )
        history = await self._models(
            OllamaPerformanceAlert,
            f"{sql} ORDER BY ts_ms DESC, id DESC LIMIT ?",
            (*parameters, request.limit),
        )
        audit = await self._models(
            AlertAudit,
            "SELECT data FROM alert_audit ORDER BY ts_ms DESC, id DESC LIMIT ?",
            (request.audit_limit,),
        )
        deliveries_sql, deliveries_parameters = delivery_log.newest_sql(request.host)
        deliveries = await self._models(
            NotificationDelivery,
            deliveries_sql,
            (*deliveries_parameters, request.delivery_limit),
        )
        return q.AlertsReply(
            alerts=history,
            active=await self.active_alerts(severity, request.host),
            audit=audit,
            deliveries=deliveries,
        )

    async def trends(self, request: q.TrendsQuery) -> q.TrendsReply:
        """Per-minute or per-hour points from the rollups of that resolution."""
        if request.bucket == q.TrendBucket.MINUTE and request.hours > MAX_MINUTE_TREND_HOURS:
            raise bad_request(
                f"minute buckets cover at most {MAX_MINUTE_TREND_HOURS:g} hours; "
                f"use bucket=hour for {request.hours:g} hours"
            )
        await self.hosts(request.host)
        resolution_s = MINUTE_SECONDS if request.bucket == q.TrendBucket.MINUTE else HOUR_SECONDS
        start_s = int(time.time() - request.hours * 3600)
        start_s -= start_s % resolution_s
        rollups = await self._rollups(
            resolution_s, start_s, FAR_FUTURE_S, request.model_name, request.host
        )
        return q.TrendsReply(points=aggregates.trend_points(rollups))

    async def lifecycle(self, request: q.LifecycleQuery) -> q.LifecycleReply:
        """Model loads, unloads and evictions of the last hours, newest first."""
        await self.hosts(request.host)
        since_ms = int((time.time() - request.hours * 3600) * 1000)
        sql, parameters = _where(
            "SELECT data FROM lifecycle WHERE ts_ms >= ?", (("host", request.host),)
        )
        events = await self._models(
            ModelLifecycleEvent,
            f"{sql} ORDER BY ts_ms DESC, id DESC LIMIT ?",
            (since_ms, *parameters, request.limit),
        )
        return q.LifecycleReply(events=events)
