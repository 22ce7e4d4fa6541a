"""`ollamon.query.benchmarks`: stored runs newest first, the ranking and the comparisons.

The ranking and the comparisons are computed over the newest `MAX_COMPARED_RUNS` runs
(of the host, of the model when named) by the pure functions of
`ollamon_core.insights.benchmark_comparison`; the runs listed are the newest `limit` of
them, as many as fit in `MAX_LISTED_RUN_BYTES` of JSON, so a reply stays well under NATS'
message size whatever the runs hold. Stored JSON is read through `redact_text`. A host
storage knows nothing of (no run, no row in `hosts`) is a 404, as in the other host-scoped
queries.
"""

from __future__ import annotations

from ollamon_core.events import BenchmarkRun
from ollamon_core.events.benchmark_queries import BenchmarksQuery, BenchmarksReply
from ollamon_core.insights import benchmark_comparison
from ollamon_core.redaction import redact_text
from ollamon_storage.host_reads import HostReads
from ollamon_storage.reader import where_equal

MAX_COMPARED_RUNS = 500
MAX_LISTED_RUN_BYTES = 256 * 1024


def only_model(run: BenchmarkRun, model: str | None) -> BenchmarkRun:
    """The run with only `model`'s result (all of them when None)."""
    if model is None:
        return run
    return run.model_copy(update={"models": [item for item in run.models if item.model == model]})


class BenchmarkReads(HostReads):
    """Answers the benchmarks query from storage's read-only connection."""

    async def benchmarks(self, query: BenchmarksQuery) -> BenchmarksReply:
        """Runs (newest first), ranking and comparisons, of one host or model when given.

        Raises:
            QueryFailedError: a 404 when `host` is given and storage knows nothing of it.
        """
        sql, parameters = where_equal(
            "SELECT data FROM benchmark_runs WHERE 1", (("host", query.host),)
        )
        if query.model is not None:
            sql += " AND run_id IN (SELECT run_id FROM benchmark_results WHERE model_name = ?)"
            parameters.append(query.model)
        rows = await self._rows(
            f"{sql} ORDER BY ts_ms DESC, id DESC LIMIT ?", (*parameters, MAX_COMPARED_RUNS)
        )
        if not rows and query.host is not None:
            await self.hosts(query.host)  # a 404 when the host is unknown
        texts = [redact_text(row[0]) for row in rows]
        runs = [BenchmarkRun.model_validate_json(text) for text in texts]
        listed: list[BenchmarkRun] = []
        budget = MAX_LISTED_RUN_BYTES
        for run, text in zip(runs[: query.limit], texts, strict=False):
            budget -= len(text)
            if budget < 0 and listed:
                break
            listed.append(only_model(run, query.model))
        return BenchmarksReply(
            runs=listed,
            ranking=benchmark_comparison.ranking(runs, query.model),
            comparisons=benchmark_comparison.comparisons(runs, query.model),
        )
