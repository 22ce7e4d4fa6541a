"""Per-minute and per-hour rollups of request metrics per (host, model) (pure code).

A rollup holds counts, sums and two histograms (response time and time to first token),
so means are exact and percentiles over long periods never scan raw rows. Hour rollups
exist beside minute rollups so that a day or a month reads a few dozen rows per model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from ollamon_storage import histogram
from ollamon_storage.histogram import Histogram

MINUTE_SECONDS = 60
HOUR_SECONDS = 3600
RESOLUTIONS_SECONDS = (MINUTE_SECONDS, HOUR_SECONDS)

RollupKey = tuple[int, int, str, str]  # resolution_s, bucket_start_s, host, model_name


class RequestSample(NamedTuple):
    """What a rollup needs from one request (a tuple: one is built per ingested request)."""

    timestamp_ms: int
    host: str
    model_name: str
    response_time_ms: float
    error_occurred: bool
    time_to_first_token_ms: float | None = None
    tokens_per_second: float | None = None
    load_duration_ms: float = 0.0
    cold_start: bool = False
    queue_wait_ms: float | None = None
    cold_load_ms: float | None = None


@dataclass
class Rollup:
    """Aggregates of the requests of one (host, model) in one bucket."""

    request_count: int = 0
    error_count: int = 0
    response_time_sum_ms: float = 0.0
    tokens_per_second_sum: float = 0.0
    tokens_per_second_count: int = 0
    load_duration_sum_ms: float = 0.0
    cold_start_count: int = 0
    # load_duration split by residency (the probe's queue_wait_ms and cold_load_ms).
    queue_wait_sum_ms: float = 0.0
    queue_wait_count: int = 0
    cold_load_sum_ms: float = 0.0
    cold_load_count: int = 0
    last_timestamp_ms: int = 0
    latency_histogram: Histogram = field(default_factory=dict)
    ttft_histogram: Histogram = field(default_factory=dict)

    def add(self, sample: RequestSample) -> None:
        """Count one request."""
        self.request_count += 1
        self.error_count += int(sample.error_occurred)
        self.response_time_sum_ms += sample.response_time_ms
        if sample.tokens_per_second is not None:
            self.tokens_per_second_sum += sample.tokens_per_second
            self.tokens_per_second_count += 1
        self.load_duration_sum_ms += sample.load_duration_ms
        self.cold_start_count += int(sample.cold_start)
        if sample.queue_wait_ms is not None:
            self.queue_wait_sum_ms += sample.queue_wait_ms
            self.queue_wait_count += 1
        if sample.cold_load_ms is not None:
            self.cold_load_sum_ms += sample.cold_load_ms
            self.cold_load_count += 1
        self.last_timestamp_ms = max(self.last_timestamp_ms, sample.timestamp_ms)
        latency_bucket = histogram.bucket_index(sample.response_time_ms)
        self.latency_histogram[latency_bucket] = self.latency_histogram.get(latency_bucket, 0) + 1
        if sample.time_to_first_token_ms is not None:
            ttft_bucket = histogram.bucket_index(sample.time_to_first_token_ms)
            self.ttft_histogram[ttft_bucket] = self.ttft_histogram.get(ttft_bucket, 0) + 1

    def merge(self, other: Rollup) -> Rollup:
        """Add another rollup's aggregates to this one (in place) and return it."""
        self.request_count += other.request_count
        self.error_count += other.error_count
        self.response_time_sum_ms += other.response_time_sum_ms
        self.tokens_per_second_sum += other.tokens_per_second_sum
        self.tokens_per_second_count += other.tokens_per_second_count
        self.load_duration_sum_ms += other.load_duration_sum_ms
        self.cold_start_count += other.cold_start_count
        self.queue_wait_sum_ms += other.queue_wait_sum_ms
        self.queue_wait_count += other.queue_wait_count
        self.cold_load_sum_ms += other.cold_load_sum_ms
        self.cold_load_count += other.cold_load_count
        self.last_timestamp_ms = max(self.last_timestamp_ms, other.last_timestamp_ms)
        histogram.merge_into(self.latency_histogram, other.latency_histogram)
        histogram.merge_into(self.ttft_histogram, other.ttft_histogram)
        return self


def bucket_start_s(timestamp_ms: int, resolution_s: int) -> int:
    """Start (epoch seconds) of the bucket holding a timestamp."""
    seconds = timestamp_ms // 1000
    return seconds - seconds % resolution_s


def rollup_deltas(samples: Iterable[RequestSample]) -> dict[RollupKey, Rollup]:
    """Aggregate requests into one rollup per (resolution, bucket, host, model).

    Samples are counted into minute rollups once; hour rollups merge those minutes.
    """
    minutes: dict[RollupKey, Rollup] = {}
    for sample in samples:
        key = (
            MINUTE_SECONDS,
            bucket_start_s(sample.timestamp_ms, MINUTE_SECONDS),
            sample.host,
            sample.model_name,
        )
        rollup = minutes.get(key)
        if rollup is None:
            rollup = minutes[key] = Rollup()
        rollup.add(sample)
    deltas = dict(minutes)
    for (_, minute_start_s, host, model_name), rollup in minutes.items():
        hour_key = (HOUR_SECONDS, minute_start_s - minute_start_s % HOUR_SECONDS, host, model_name)
        hour = deltas.get(hour_key)
        if hour is None:
            hour = deltas[hour_key] = Rollup()
        hour.merge(rollup)
    return deltas


@dataclass(frozen=True)
class PeriodPlan:
    """Which rollups cover a period ending now: minutes up to the first hour, then hours."""

    minutes_from_s: int
    hours_from_s: int


def plan_period(start_s: float) -> PeriodPlan:
    """Cover [start, now) with minute rollups until the next hour boundary, hours after.

    The start is floored to its minute (the resolution of the finest rollup).
    """
    minute_start = int(start_s) - int(start_s) % MINUTE_SECONDS
    hour_start = minute_start - minute_start % HOUR_SECONDS
    if hour_start < minute_start:
        hour_start += HOUR_SECONDS
    return PeriodPlan(minutes_from_s=minute_start, hours_from_s=hour_start)
