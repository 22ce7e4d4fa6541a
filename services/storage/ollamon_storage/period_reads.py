"""Request rollups over a period, per (host, model), with complete hours from the cache.

Aggregates come from rollups (a few dozen rows per model for a day), never from scanning
raw request rows. A period is covered by minute rollups up to its first whole hour, then
hour rollups; the hours that have ended are merged once per (host, model) and kept
(`hour_cache.py`).
"""

from __future__ import annotations

import time

from ollamon_storage import fleet, rollup_store
from ollamon_storage.hour_cache import CompleteHoursCache, Signature
from ollamon_storage.reader import Reader, where_equal
from ollamon_storage.rollups import HOUR_SECONDS, MINUTE_SECONDS, Rollup, RollupKey, plan_period

FAR_FUTURE_S = 2**62
MAX_PAIRS_PER_SELECT = 400
_ROLLUPS_SQL = (
    f"SELECT {rollup_store.SELECT_ROLLUP_COLUMNS} FROM request_rollups "  # noqa: S608
    "WHERE resolution_s = ? AND bucket_start_s >= ? AND bucket_start_s < ?"
)
_ROLLUP_COLUMNS_OF_R = ", ".join(f"r.{column}" for column in rollup_store.ROLLUP_COLUMNS)
_SIGNATURES_SQL = (
    "SELECT host, model_name, COUNT(*), SUM(request_count), SUM(last_ts_ms) "
    "FROM request_rollups WHERE resolution_s = ? AND bucket_start_s >= ? AND bucket_start_s < ?"
)


class PeriodReads(Reader):
    """Rollup reads; `hour_cache` keeps merged complete hours between queries."""

    hour_cache: CompleteHoursCache

    async def _rollups(
        self,
        resolution_s: int,
        from_s: int,
        until_s: int,
        model_name: str | None,
        host: str | None = None,
    ) -> list[tuple[RollupKey, Rollup]]:
        sql, parameters = where_equal(_ROLLUPS_SQL, (("model_name", model_name), ("host", host)))
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
            HOUR_SECONDS, plan.hours_from_s, FAR_FUTURE_S, model_name, host
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
        fresh += await self._rollups(HOUR_SECONDS, current_hour_s, FAR_FUTURE_S, model_name, host)
        for (_, _, row_host, row_model), rollup in fresh:
            merged.setdefault((row_host, row_model), Rollup()).merge(rollup)
        return merged

    async def _complete_hours(
        self, window: tuple[int, int], model_name: str | None, host: str | None
    ) -> dict[fleet.HostModel, Rollup]:
        """Each pair's hour rollups in [window) merged, from the cache unless they changed."""
        if window[1] <= window[0]:
            return {}
        sql, parameters = where_equal(_SIGNATURES_SQL, (("model_name", model_name), ("host", host)))
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
