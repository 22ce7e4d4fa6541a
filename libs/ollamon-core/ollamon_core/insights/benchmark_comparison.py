"""Ranking stored benchmark runs and comparing them across server versions (pure).

The ranking keeps the latest run of each (host, model) and orders it by warm eval tokens/s
of its headline case (`streamed`, else `short_chat`, else `long_prompt`: the first that
measured eval). A comparison sets that latest run against the latest earlier run of the
same (host, model) on a DIFFERENT server version (an upgrade or a downgrade), metric by
metric: eval tokens/s, time to first token and cold load time. It is flagged when the
change is at least `FLAG_PERCENT` and each run's mean lies outside the other run's 95 %
interval, so noise within the intervals never flags. A figure measured once (the cold load:
one per run) has no interval to judge noise by: it is its own interval and needs a change of
`SINGLE_FLAG_PERCENT`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ollamon_core.events.benchmark_queries import (
    BenchmarkComparison,
    ComparisonMetric,
    RankingRow,
)
from ollamon_core.events.benchmarks import (
    BenchmarkCase,
    BenchmarkCaseResult,
    BenchmarkModelResult,
    BenchmarkRun,
    Interval,
)

FLAG_PERCENT = 10.0
# A figure without interval (one sample in either run) is flagged from this change on.
SINGLE_FLAG_PERCENT = 25.0
# Headline cases, in order of preference.
HEADLINE_CASES = (BenchmarkCase.STREAMED, BenchmarkCase.SHORT_CHAT, BenchmarkCase.LONG_PROMPT)
# How a message names each metric, and whether a larger value is better.
METRIC_LABELS = {
    ComparisonMetric.EVAL: "eval",
    ComparisonMetric.TTFT: "TTFT",
    ComparisonMetric.LOAD: "load",
}
HIGHER_IS_BETTER = {ComparisonMetric.EVAL}


@dataclass(frozen=True)
class Measured:
    """One model's result within the run that measured it."""

    run: BenchmarkRun
    result: BenchmarkModelResult

    @property
    def key(self) -> tuple[str, str]:
        """(host, model)."""
        return (self.run.host, self.result.model)


def headline_case(result: BenchmarkModelResult) -> BenchmarkCaseResult | None:
    """The case whose warm figures stand for the model (None: no case measured eval)."""
    by_case = {case.case: case for case in result.cases}
    for name in HEADLINE_CASES:
        case = by_case.get(name)
        if case is not None and case.eval_tokens_per_second is not None:
            return case
    return None


def point(value: float) -> Interval:
    """A figure measured once, as its own interval."""
    return Interval(mean=value, low=value, high=value, samples=1)


def measured(runs: Iterable[BenchmarkRun], model: str | None = None) -> list[Measured]:
    """Every (run, model result), oldest run first (ties by run id); one model if named."""
    ordered = sorted(runs, key=lambda run: (run.finished_at, run.run_id))
    return [
        Measured(run, result)
        for run in ordered
        for result in run.models
        if model is None or result.model == model
    ]


def latest_by_key(items: Sequence[Measured]) -> dict[tuple[str, str], Measured]:
    """The latest result of each (host, model) (`items` oldest first)."""
    latest: dict[tuple[str, str], Measured] = {}
    for item in items:
        latest[item.key] = item
    return latest


def _eval_mean(row: RankingRow) -> float:
    return row.eval_tokens_per_second.mean if row.eval_tokens_per_second else float("-inf")


def ranking(runs: Iterable[BenchmarkRun], model: str | None = None) -> list[RankingRow]:
    """The latest run of each (host, model), fastest warm eval first (unmeasured last)."""
    rows = [_ranking_row(item) for item in latest_by_key(measured(runs, model)).values()]
    rows.sort(key=lambda row: (-_eval_mean(row), row.model, row.host))
    return [row.model_copy(update={"rank": index + 1}) for index, row in enumerate(rows)]


def _ranking_row(item: Measured) -> RankingRow:
    run, result = item.run, item.result
    case = headline_case(result)
    return RankingRow(
        rank=0,
        host=run.host,
        model=result.model,
        run_id=run.run_id,
        finished_at=run.finished_at,
        backend=run.backend,
        server_version=run.server_version,
        gpu_name=run.gpu_name,
        case=case.case if case else None,
        eval_tokens_per_second=case.eval_tokens_per_second if case else None,
        prompt_tokens_per_second=case.prompt_tokens_per_second if case else None,
        ttft_ms=case.ttft_ms if case else None,
        latency_ms=case.latency_ms if case else None,
        cold_load_ms=result.cold_load_ms,
        digest=result.digest,
        quantization=result.quantization,
        parameter_size=result.parameter_size,
        size_bytes=result.size_bytes,
        size_vram_bytes=result.size_vram_bytes,
        fits_in_vram=result.fits_in_vram,
        num_ctx=run.num_ctx,
        error=result.error,
    )


def _figures(result: BenchmarkModelResult, case: BenchmarkCase) -> dict[ComparisonMetric, Interval]:
    figures: dict[ComparisonMetric, Interval] = {}
    found = next((item for item in result.cases if item.case == case), None)
    if found is not None and found.eval_tokens_per_second is not None:
        figures[ComparisonMetric.EVAL] = found.eval_tokens_per_second
    if found is not None and found.ttft_ms is not None:
        figures[ComparisonMetric.TTFT] = found.ttft_ms
    if result.cold_load_ms is not None:
        figures[ComparisonMetric.LOAD] = point(result.cold_load_ms)
    return figures


def change_percent(previous: float, current: float) -> float:
    """(current - previous) / previous in percent (`previous` must be above 0)."""
    return (current - previous) / previous * 100.0


def beyond_both(previous: Interval, current: Interval) -> bool:
    """Each mean lies outside the other's interval."""
    current_outside = not previous.low <= current.mean <= previous.high
    previous_outside = not current.low <= previous.mean <= current.high
    return current_outside and previous_outside


def flagged(previous: Interval, current: Interval, change: float) -> bool:
    """Beyond both intervals and at least 10 % (25 % when either is one sample)."""
    single = previous.samples < 2 or current.samples < 2
    threshold = SINGLE_FLAG_PERCENT if single else FLAG_PERCENT
    return abs(change) >= threshold and beyond_both(previous, current)


def message(
    previous_version: str | None,
    current_version: str | None,
    model: str,
    metric: ComparisonMetric,
    change: float,
    host: str,
) -> str:
    """e.g. `0.12.3 -> 0.12.6: llama3.2:1b eval -18 % on gpu-a`."""
    return (
        f"{previous_version or '?'} -> {current_version or '?'}: {model} "
        f"{METRIC_LABELS[metric]} {round(change):+d} % on {host}"
    )


def compare_pair(previous: Measured, current: Measured) -> list[BenchmarkComparison]:
    """The comparisons of two results of one (host, model), on the current headline case."""
    case = headline_case(current.result)
    if case is None:
        before: dict[ComparisonMetric, Interval] = {}
        after: dict[ComparisonMetric, Interval] = {}
        if previous.result.cold_load_ms is not None and current.result.cold_load_ms is not None:
            before = {ComparisonMetric.LOAD: point(previous.result.cold_load_ms)}
            after = {ComparisonMetric.LOAD: point(current.result.cold_load_ms)}
    else:
        before = _figures(previous.result, case.case)
        after = _figures(current.result, case.case)
    comparisons = []
    for metric in ComparisonMetric:
        old, new = before.get(metric), after.get(metric)
        if old is None or new is None or old.mean <= 0:
            continue
        change = change_percent(old.mean, new.mean)
        worse = change < 0 if metric in HIGHER_IS_BETTER else change > 0
        host, model = current.key
        comparisons.append(
            BenchmarkComparison(
                host=host,
                model=model,
                metric=metric,
                previous_run_id=previous.run.run_id,
                current_run_id=current.run.run_id,
                previous_version=previous.run.server_version,
                current_version=current.run.server_version,
                previous=old,
                current=new,
                change_percent=change,
                worse=worse,
                flagged=flagged(old, new, change),
                message=message(
                    previous.run.server_version,
                    current.run.server_version,
                    model,
                    metric,
                    change,
                    host,
                ),
            )
        )
    return comparisons


def comparisons(
    runs: Iterable[BenchmarkRun], model: str | None = None
) -> list[BenchmarkComparison]:
    """For each (host, model): its latest run against the latest earlier run of the same
    suite on another known server version; flagged ones first, then by host and model."""
    items = measured(runs, model)
    found: list[BenchmarkComparison] = []
    for key, current in latest_by_key(items).items():
        if current.run.server_version is None:
            continue
        previous = next(
            (
                item
                for item in reversed(items)
                if item.key == key
                and item.run.run_id != current.run.run_id
                and item.run.finished_at <= current.run.finished_at
                and item.run.server_version is not None
                and item.run.server_version != current.run.server_version
                and item.run.suite_version == current.run.suite_version
            ),
            None,
        )
        if previous is not None:
            found.extend(compare_pair(previous, current))
    found.sort(key=lambda item: (not item.flagged, item.host, item.model, item.metric.value))
    return found
