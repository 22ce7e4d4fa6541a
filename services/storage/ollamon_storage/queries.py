"""Answers to the history queries, read from SQLite on a read-only connection.

Aggregates come from rollups (a few dozen rows per model for a day), never from scanning
raw request rows; raw rows are only read by index for "latest" lists. Stored JSON is read
through `redact_text`, so no reply holds a URL's credentials (not even from rows stored
before redaction existed).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TypeVar

import aiosqlite
from pydantic import BaseModel

from ollamon_core.bus import QueryFailedError
from ollamon_core.events import (
    AlertAudit,
    ModelLifecycleEvent,
    ModelScore,
    NotificationDelivery,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
)
from ollamon_core.events import queries as q
from ollamon_core.redaction import redact_text
from ollamon_storage import aggregates, delivery_log, fleet, rollup_store
from ollamon_storage.hour_cache import CompleteHoursCache, Signature
from ollamon_storage.rollups import HOUR_SECONDS, MINUTE_SECONDS, Rollup, RollupKey, plan_period

ModelT = TypeVar("ModelT", bound=BaseModel)
MAX_MINUTE_TREND_HOURS = 48.0
MAX_IDS_PER_SELECT = 500

_ROLLUPS_SQL = (
    f"SELECT {rollup_store.SELECT_ROLLUP_COLUMNS} FROM request_rollups "  # noqa: S608
    "WHERE resolution_s = ? AND bucket_start_s >= ? AND bucket_start_s < ?"
)
_FAR_FUTURE_S = 2**62
_ROLLUP_COLUMNS_OF_R = ", ".join(f"r.{column}" for column in rollup_store.ROLLUP_COLUMNS)
_SIGNATURES_SQL = (
    "SELECT host, model_name, COUNT(*), SUM(request_count), SUM(last_ts_ms) "
    "FROM request_rollups WHERE resolution_s = ? AND bucket_start_s >= ? AND bucket_start_s < ?"
)
_HOSTS_SQL = "SELECT host, first_seen_ms, last_seen_ms FROM hosts"
# Per host, driven by `hosts` (one index search each): the newest system sample, the newest
# health events (each URL's latest is among them).
_LATEST_SYSTEM_SQL = (
    "SELECT h.host, (SELECT data FROM system_samples s WHERE s.host = h.host "
    "ORDER BY s.ts_ms DESC LIMIT 1) FROM hosts h"
)
_RECENT_HEALTH_SQL = (
    "SELECT x.host, json_extract(x.data, '$.ollama_url'), x.data FROM hosts h "  # noqa: S608
    "JOIN health x ON x.id IN (SELECT id FROM health "
    f"WHERE host = h.host ORDER BY ts_ms DESC LIMIT {fleet.HEALTH_ROWS_PER_HOST})"
)
MAX_PAIRS_PER_SELECT = 400


def _where(sql: str, conditions: Sequence[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """`sql` with `AND column = ?` for each (column, value) whose value is not None."""
    parameters: list[Any] = []
    for column, value in conditions:
        if value is not None:
            sql += f" AND {column} = ?"
            parameters.append(value)
    return sql, parameters


def bad_request(reason: str) -> QueryFailedError:
    """A 400 answer with the reason."""
    return QueryFailedError(q.QueryError(error=reason, status_code=400))


def unknown_host(host: str) -> QueryFailedError:
    """A 404 answer naming a host storage has stored no event of."""
    return QueryFailedError(
        q.QueryError(
            error=f"unknown host {host!r}: no event of this host is stored", status_code=404
        )
    )


class QueryService:
    """Every read-only query, over one connection."""

    def __init__(self, conn: aiosqlite.Connection, hour_cache: CompleteHoursCache | None = None):
        self.conn = conn
        self.hour_cache = hour_cache or CompleteHoursCache()

    async def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        async with self.conn.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall())

    async def _models(
        self, model: type[ModelT], sql: str, parameters: Sequence[Any]
    ) -> list[ModelT]:
        rows = await self._rows(sql, parameters)
        return [model.model_validate_json(redact_text(row[0])) for row in rows]

    async def _rollups(
        self,
        resolution_s: int,
        from_s: int,
        until_s: int,
        model_name: str | None,
        host: str | None = None,
    ) -> list[tuple[RollupKey, Rollup]]:
        sql, parameters = _where(_ROLLUPS_SQL, (("model_name", model_name), ("host", host)))
        rows = await self._rows(sql, (resolution_s, from_s, until_s, *parameters))
        return [rollup_store.row_to_rollup(row) for row in rows]

    async def period_rollups(
        self, hours: float, model_name: str | None = None, host: str | None = None
    ) -> list[tuple[RollupKey, Rollup]]:
        """Rollups covering the last `hours`: minutes up to the first whole hour, then hours."""
        plan = plan_period(time.time() - hours * 3600)
        minutes = await self._rollups(
            MINUTE_SECONDS, plan.minutes_from_s, plan.hours_from_s, model_name, host
        )
        hours_rows = await self._rollups(
            HOUR_SECONDS, plan.hours_from_s, _FAR_FUTURE_S, model_name, host
        )
        return minutes + hours_rows

    async def period_by_host_model(
        self, hours: float, model_name: str | None = None, host: str | None = None
    ) -> dict[fleet.HostModel, Rollup]:
        """The last `hours` merged per (host, model), as `period_rollups` covers them.

        The complete hours come from the cache where their rows are unchanged; the minutes
        before the first whole hour and the current hour are read each time.
        """
        now_s = int(time.time())
        plan = plan_period(now_s - hours * 3600)
        current_hour_s = max(plan.hours_from_s, now_s - now_s % HOUR_SECONDS)
        merged = {
            pair: Rollup().merge(rollup)  # a copy: the cache's own are never changed
            for pair, rollup in (
                await self._complete_hours((plan.hours_from_s, current_hour_s), model_name, host)
            ).items()
        }
        fresh = await self._rollups(
            MINUTE_SECONDS, plan.minutes_from_s, plan.hours_from_s, model_name, host
        )
        fresh += await self._rollups(HOUR_SECONDS, current_hour_s, _FAR_FUTURE_S, model_name, host)
        for (_, _, row_host, row_model), rollup in fresh:
            merged.setdefault((row_host, row_model), Rollup()).merge(rollup)
        return merged

    async def _complete_hours(
        self, window: tuple[int, int], model_name: str | None, host: str | None
    ) -> dict[fleet.HostModel, Rollup]:
        """Each pair's hour rollups in [window) merged, from the cache unless they changed."""
        if window[1] <= window[0]:
            return {}
        sql, parameters = _where(_SIGNATURES_SQL, (("model_name", model_name), ("host", host)))
        signatures: dict[fleet.HostModel, Signature] = {
            (str(row[0]), str(row[1])): (int(row[2]), int(row[3]), int(row[4]))
            for row in await self._rows(
                f"{sql} GROUP BY host, model_name", (HOUR_SECONDS, *window, *parameters)
            )
        }
        kept, stale = self.hour_cache.split(window, signatures)
        if not stale:
            return kept
        if kept:  # a few pairs changed (late events): read just theirs
            rows = []
            for start in range(0, len(stale), MAX_PAIRS_PER_SELECT):
                chunk = stale[start : start + MAX_PAIRS_PER_SELECT]
                values = ", ".join("(?, ?)" for _ in chunk)
                pair_sql = (
                    f"SELECT {_ROLLUP_COLUMNS_OF_R} FROM request_rollups r "  # noqa: S608
                    f"JOIN (VALUES {values}) p ON r.host = p.column1 AND r.model_name = p.column2 "
                    "WHERE r.resolution_s = ? AND r.bucket_start_s >= ? AND r.bucket_start_s < ?"
                )
                pair_rows = await self._rows(
                    pair_sql, [*(part for pair in chunk for part in pair), HOUR_SECONDS, *window]
                )
                rows += [rollup_store.row_to_rollup(row) for row in pair_rows]
        else:
            rows = await self._rollups(HOUR_SECONDS, *window, model_name, host)
        merged = fleet.combine_by_host_model(rows)
        self.hour_cache.keep(window, signatures, merged.items())
        return kept | merged

    async def hosts(self, host: str | None = None) -> list[fleet.HostRecord]:
        """Every host storage knows, by name; only `host`, which must be known, when given.

        Raises:
            QueryFailedError: a 404 when `host` is given and unknown.
        """
        sql, parameters = _where(f"{_HOSTS_SQL} WHERE 1", (("host", host),))
        rows = await self._rows(f"{sql} ORDER BY host", parameters)
        if host is not None and not rows:
            raise unknown_host(host)
        return [fleet.HostRecord(str(row[0]), int(row[1]), int(row[2])) for row in rows]

    async def host_states(self, host: str | None) -> dict[str, fleet.HostState]:
        """Each host's newest system sample and each of its Ollama servers' latest health."""
        suffix, parameters = _where(" WHERE 1", (("h.host", host),))
        systems = {
            str(row[0]): OllamaSystemMetrics.model_validate_json(redact_text(row[1]))
            for row in await self._rows(_LATEST_SYSTEM_SQL + suffix, parameters)
            if row[1] is not None
        }
        healths: dict[str, dict[str, OllamaHealth]] = {}
        sql = f"{_RECENT_HEALTH_SQL}{suffix} ORDER BY x.ts_ms DESC"
        for name, url, data in await self._rows(sql, parameters):
            by_url = healths.setdefault(str(name), {})
            if url not in by_url:  # newest first: only each URL's newest is parsed
                by_url[url] = OllamaHealth.model_validate_json(redact_text(data))
        return {
            name: fleet.HostState(
                systems.get(name), fleet.latest_per_url(healths.get(name, {}).values())
            )
            for name in systems.keys() | healths.keys()
        }

    async def latest_scores(
        self, pairs: Sequence[fleet.HostModel]
    ) -> dict[fleet.HostModel, ModelScore]:
        """The newest score of each (host, model): one index search each, never another host's."""
        found: dict[fleet.HostModel, ModelScore] = {}
        for start in range(0, len(pairs), MAX_PAIRS_PER_SELECT):
            chunk = pairs[start : start + MAX_PAIRS_PER_SELECT]
            values = ", ".join("(?, ?)" for _ in chunk)
            sql = (
                "SELECT p.column1, p.column2, (SELECT data FROM scores s "  # noqa: S608
                "WHERE s.host = p.column1 AND s.model_name = p.column2 "
                f"ORDER BY s.ts_ms DESC LIMIT 1) FROM (VALUES {values}) p"
            )
            for row in await self._rows(sql, [part for pair in chunk for part in pair]):
                if row[2] is not None:
                    found[(str(row[0]), str(row[1]))] = ModelScore.model_validate_json(
                        redact_text(row[2])
                    )
        return found

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
            models=models,
            hosts=hosts,
            fleet=fleet.fleet_rollup(hosts, models, active),
            latest_system=system,
            gpu_available=any(host.gpu_available for host in hosts),
            recent_alerts=recent_alerts,
            active_alerts=active,
            recommendations=aggregates.recommendations_from(list(scores.values())),
        )

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
        host that samples often never crowds out another.
        """
        await self.hosts(request.host)
        since_ms = int((time.time() - request.hours * 3600) * 1000)
        sql, parameters = _where(
            "SELECT id, host FROM system_samples WHERE ts_ms >= ?", (("host", request.host),)
        )
        id_rows = await self._rows(f"{sql} ORDER BY ts_ms, id", (since_ms, *parameters))
        positions: dict[str, list[int]] = {}
        for position, row in enumerate(id_rows):
            positions.setdefault(str(row[1]), []).append(position)
        share = max(1, request.limit // max(1, len(positions)))
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
        return q.SystemHistoryReply(samples=samples, total_in_period=len(id_rows))

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
            resolution_s, start_s, _FAR_FUTURE_S, request.model_name, request.host
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
