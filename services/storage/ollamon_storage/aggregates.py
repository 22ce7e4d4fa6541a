"""Turning rollups and stored rows into query answers (pure code, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from ollamon_core.events import ModelScore, OllamaSystemMetrics, Recommendation
from ollamon_core.events.queries import ModelSummary, TrendPoint
from ollamon_storage import histogram
from ollamon_storage.rollups import Rollup, RollupKey


def datetime_from_ms(timestamp_ms: int) -> datetime:
    """Aware UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


def _ratio(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


QUANTILES = (0.50, 0.95, 0.99)


def model_summary(
    model_name: str, host: str | None, rollup: Rollup, score: float | None = None
) -> ModelSummary:
    """A model's aggregates on one host (None: every host) from its merged rollup."""
    latency = histogram.percentiles(rollup.latency_histogram, QUANTILES)
    ttft = histogram.percentiles(rollup.ttft_histogram, QUANTILES)
    count = rollup.request_count
    success_count = count - rollup.error_count
    return ModelSummary(
        model_name=model_name,
        host=host,
        request_count=count,
        success_count=success_count,
        error_count=rollup.error_count,
        success_rate_percent=None if not count else 100.0 * success_count / count,
        response_time_mean_ms=_ratio(rollup.response_time_sum_ms, count),
        response_time_p50_ms=latency[0],
        response_time_p95_ms=latency[1],
        response_time_p99_ms=latency[2],
        time_to_first_token_p50_ms=ttft[0],
        time_to_first_token_p95_ms=ttft[1],
        time_to_first_token_p99_ms=ttft[2],
        tokens_per_second_mean=_ratio(rollup.tokens_per_second_sum, rollup.tokens_per_second_count),
        load_duration_mean_ms=_ratio(rollup.load_duration_sum_ms, count),
        cold_start_count=rollup.cold_start_count,
        queue_wait_mean_ms=_ratio(rollup.queue_wait_sum_ms, rollup.queue_wait_count),
        cold_load_mean_ms=_ratio(rollup.cold_load_sum_ms, rollup.cold_load_count),
        last_used=datetime_from_ms(rollup.last_timestamp_ms) if count else None,
        score=score,
    )


def trend_points(rollups: Iterable[tuple[RollupKey, Rollup]]) -> list[TrendPoint]:
    """One point per (bucket, host, model), oldest first: hosts are never merged."""
    merged: dict[tuple[int, str, str], Rollup] = {}
    for (_, bucket_start_s, host, model_name), rollup in rollups:
        key = (bucket_start_s, host, model_name)
        target = merged.get(key)
        if target is None:
            target = merged[key] = Rollup()
        target.merge(rollup)
    points = []
    for (bucket_start_s, host, model_name), rollup in sorted(merged.items()):
        points.append(
            TrendPoint(
                bucket_start=datetime.fromtimestamp(bucket_start_s, tz=UTC),
                host=host,
                model_name=model_name,
                request_count=rollup.request_count,
                error_count=rollup.error_count,
                response_time_p50_ms=histogram.percentile(rollup.latency_histogram, 0.50),
                response_time_p95_ms=histogram.percentile(rollup.latency_histogram, 0.95),
                time_to_first_token_p95_ms=histogram.percentile(rollup.ttft_histogram, 0.95),
                tokens_per_second_mean=_ratio(
                    rollup.tokens_per_second_sum, rollup.tokens_per_second_count
                ),
            )
        )
    return points


def thin_evenly(count: int, limit: int) -> list[int]:
    """Indices of at most `limit` items spread evenly over `count`, first and last kept."""
    if limit <= 0 or count <= 0:
        return []
    if count <= limit:
        return list(range(count))
    if limit == 1:
        return [count - 1]
    step = (count - 1) / (limit - 1)
    return sorted({round(position * step) for position in range(limit)})


def recommendations_from(scores: Sequence[ModelScore]) -> list[Recommendation]:
    """Every distinct recommendation of the latest scores, in score order (worst first)."""
    seen: set[tuple[str, str]] = set()
    found: list[Recommendation] = []
    for score in sorted(scores, key=lambda item: item.score):
        for recommendation in score.recommendations:
            key = (recommendation.setting, recommendation.action)
            if key not in seen:
                seen.add(key)
                found.append(recommendation)
    return found


def gpu_available(sample: OllamaSystemMetrics | None) -> bool:
    """Whether the latest system sample saw a GPU."""
    if sample is None:
        return False
    return bool(sample.gpus) or sample.gpu_usage_percent is not None
