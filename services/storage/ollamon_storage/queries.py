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
    ModelLifecycleEvent,
    ModelScore,
    OllamaModelMetrics,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
)
from ollamon_core.events import queries as q
from ollamon_core.redaction import redact_text
from ollamon_storage import aggregates, rollup_store
from ollamon_storage.rollups import HOUR_SECONDS, MINUTE_SECONDS, Rollup, RollupKey, plan_period

ModelT = TypeVar("ModelT", bound=BaseModel)
MAX_MINUTE_TREND_HOURS = 48.0
MAX_IDS_PER_SELECT = 500

_ROLLUPS_SQL = (
    f"SELECT {rollup_store.SELECT_ROLLUP_COLUMNS} FROM request_rollups "  # noqa: S608
    "WHERE resolution_s = ? AND bucket_start_s >= ? AND bucket_start_s < ?"
)
_MODEL_ROLLUPS_SQL = (
    f"SELECT {rollup_store.SELECT_ROLLUP_COLUMNS} FROM request_rollups "  # noqa: S608
    "WHERE resolution_s = ? AND model_name = ? AND bucket_start_s >= ? AND bucket_start_s < ?"
)
_FAR_FUTURE_S = 2**62


def bad_request(reason: str) -> QueryFailedError:
    """A 400 answer with the reason."""
    return QueryFailedError(q.QueryError(error=reason, status_code=400))


class QueryService:
    """Every read-only query, over one connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        async with self.conn.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall())

    async def _models(
        self, model: type[ModelT], sql: str, parameters: Sequence[Any]
    ) -> list[ModelT]:
        rows = await self._rows(sql, parameters)
        return [model.model_validate_json(redact_text(row[0])) for row in rows]

    async def _rollups(
        self, resolution_s: int, from_s: int, until_s: int, model_name: str | None
    ) -> list[tuple[RollupKey, Rollup]]:
        if model_name is None:
            rows = await self._rows(_ROLLUPS_SQL, (resolution_s, from_s, until_s))
        else:
            rows = await self._rows(_MODEL_ROLLUPS_SQL, (resolution_s, model_name, from_s, until_s))
        return [rollup_store.row_to_rollup(row) for row in rows]

    async def period_rollups(
        self, hours: float, model_name: str | None = None
    ) -> list[tuple[RollupKey, Rollup]]:
        """Rollups covering the last `hours`: minutes up to the first whole hour, then hours."""
        plan = plan_period(time.time() - hours * 3600)
        minutes = await self._rollups(
            MINUTE_SECONDS, plan.minutes_from_s, plan.hours_from_s, model_name
        )
        hours_rows = await self._rollups(HOUR_SECONDS, plan.hours_from_s, _FAR_FUTURE_S, model_name)
        return minutes + hours_rows

    async def latest_score(self, model_name: str) -> ModelScore | None:
        """The newest score of a model (any host)."""
        found = await self._models(
            ModelScore,
            "SELECT data FROM scores WHERE model_name = ? ORDER BY ts_ms DESC LIMIT 1",
            (model_name,),
        )
        return found[0] if found else None

    async def summary(self, request: q.SummaryQuery) -> q.SummaryReply:
        """Models, latest system sample, alerts and recommendations of the last hours."""
        by_model = aggregates.combine_by_model(await self.period_rollups(request.hours))
        scores = {name: await self.latest_score(name) for name in sorted(by_model)}
        score_values = {name: score.score for name, score in scores.items() if score is not None}
        models = [
            aggregates.model_summary(name, hosts, rollup, score_values.get(name))
            for name, (hosts, rollup) in sorted(by_model.items())
        ]
        latest_system = await self._models(
            OllamaSystemMetrics,
            "SELECT data FROM system_samples ORDER BY ts_ms DESC LIMIT 1",
            (),
        )
        recent_alerts = await self._models(
            OllamaPerformanceAlert,
            "SELECT data FROM alerts ORDER BY ts_ms DESC LIMIT ?",
            (request.recent_alert_limit,),
        )
        system = latest_system[0] if latest_system else None
        return q.SummaryReply(
            hours=request.hours,
            total_requests=sum(model.request_count for model in models),
            models=models,
            latest_system=system,
            gpu_available=aggregates.gpu_available(system),
            recent_alerts=recent_alerts,
            active_alerts=await self.active_alerts(None),
            recommendations=aggregates.recommendations_from(
                [score for score in scores.values() if score is not None]
            ),
        )

    async def model_metrics(self, request: q.ModelMetricsQuery) -> q.ModelMetricsReply:
        """One model's aggregates, latest requests and latest score."""
        rollups = await self.period_rollups(request.hours, request.model_name)
        latest_score = await self.latest_score(request.model_name)
        summary = None
        if rollups:
            hosts, rollup = aggregates.combine_by_model(rollups)[request.model_name]
            summary = aggregates.model_summary(
                request.model_name, hosts, rollup, latest_score.score if latest_score else None
            )
        since_ms = int((time.time() - request.hours * 3600) * 1000)
        recent = await self._models(
            OllamaModelMetrics,
            "SELECT data FROM requests WHERE model_name = ? AND ts_ms >= ? "
            "ORDER BY ts_ms DESC LIMIT ?",
            (request.model_name, since_ms, request.recent_limit),
        )
        return q.ModelMetricsReply(summary=summary, recent=recent, latest_score=latest_score)

    async def system_history(self, request: q.SystemHistoryQuery) -> q.SystemHistoryReply:
        """System samples of the last hours, thinned evenly to the limit, oldest first."""
        since_ms = int((time.time() - request.hours * 3600) * 1000)
        if request.host is None:
            id_rows = await self._rows(
                "SELECT id FROM system_samples WHERE ts_ms >= ? ORDER BY ts_ms, id", (since_ms,)
            )
        else:
            id_rows = await self._rows(
                "SELECT id FROM system_samples WHERE host = ? AND ts_ms >= ? ORDER BY ts_ms, id",
                (request.host, since_ms),
            )
        chosen = [
            id_rows[index][0] for index in aggregates.thin_evenly(len(id_rows), request.limit)
        ]
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

    async def active_alerts(self, severity: str | None) -> list[OllamaPerformanceAlert]:
        """Alerts whose latest state is firing, newest first."""
        if severity is None:
            sql = "SELECT data FROM alert_state WHERE state = 'firing' ORDER BY ts_ms DESC"
            return await self._models(OllamaPerformanceAlert, sql, ())
        sql = (
            "SELECT data FROM alert_state WHERE state = 'firing' AND severity = ? "
            "ORDER BY ts_ms DESC"
        )
        return await self._models(OllamaPerformanceAlert, sql, (severity,))

    async def alerts(self, request: q.AlertsQuery) -> q.AlertsReply:
        """Alert history (newest first, optionally one severity) and the alerts firing now."""
        severity = None if request.severity is None else request.severity.value
        if severity is None:
            history = await self._models(
                OllamaPerformanceAlert,
                "SELECT data FROM alerts ORDER BY ts_ms DESC, id DESC LIMIT ?",
                (request.limit,),
            )
        else:
            history = await self._models(
                OllamaPerformanceAlert,
                "SELECT data FROM alerts WHERE severity = ? ORDER BY ts_ms DESC, id DESC LIMIT ?",
                (severity, request.limit),
            )
        return q.AlertsReply(alerts=history, active=await self.active_alerts(severity))

    async def trends(self, request: q.TrendsQuery) -> q.TrendsReply:
        """Per-minute or per-hour points from the rollups of that resolution."""
        if request.bucket == q.TrendBucket.MINUTE and request.hours > MAX_MINUTE_TREND_HOURS:
            raise bad_request(
                f"minute buckets cover at most {MAX_MINUTE_TREND_HOURS:g} hours; "
                f"use bucket=hour for {request.hours:g} hours"
            )
        resolution_s = MINUTE_SECONDS if request.bucket == q.TrendBucket.MINUTE else HOUR_SECONDS
        start_s = int(time.time() - request.hours * 3600)
        start_s -= start_s % resolution_s
        rollups = await self._rollups(resolution_s, start_s, _FAR_FUTURE_S, request.model_name)
        return q.TrendsReply(points=aggregates.trend_points(rollups))

    async def lifecycle(self, request: q.LifecycleQuery) -> q.LifecycleReply:
        """Model loads, unloads and evictions of the last hours, newest first."""
        since_ms = int((time.time() - request.hours * 3600) * 1000)
        events = await self._models(
            ModelLifecycleEvent,
            "SELECT data FROM lifecycle WHERE ts_ms >= ? ORDER BY ts_ms DESC, id DESC LIMIT ?",
            (since_ms, request.limit),
        )
        return q.LifecycleReply(events=events)
