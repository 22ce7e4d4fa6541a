"""Rollup aggregation and period planning (pure)."""

from __future__ import annotations

from typing import Any

from ollamon_storage import rollup_store
from ollamon_storage.rollups import (
    HOUR_SECONDS,
    MINUTE_SECONDS,
    RequestSample,
    Rollup,
    plan_period,
    rollup_deltas,
)

BASE_MS = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000  # on an hour boundary


def _sample(offset_s: float, model: str = "m", **fields: object) -> RequestSample:
    values: dict[str, Any] = {
        "timestamp_ms": BASE_MS + int(offset_s * 1000),
        "host": "h",
        "model_name": model,
        "response_time_ms": 100.0,
        "error_occurred": False,
    }
    values.update(fields)
    return RequestSample(**values)


def test_samples_count_into_their_minute_and_their_hour() -> None:
    deltas = rollup_deltas(
        [_sample(5), _sample(50, error_occurred=True), _sample(70), _sample(3700, "other")]
    )
    base_s = BASE_MS // 1000
    assert deltas[(MINUTE_SECONDS, base_s, "h", "m")].request_count == 2
    assert deltas[(MINUTE_SECONDS, base_s, "h", "m")].error_count == 1
    assert deltas[(MINUTE_SECONDS, base_s + 60, "h", "m")].request_count == 1
    assert deltas[(HOUR_SECONDS, base_s, "h", "m")].request_count == 3
    assert deltas[(HOUR_SECONDS, base_s + 3600, "h", "other")].request_count == 1
    assert len(deltas) == 5


def test_a_rollup_keeps_sums_and_optional_fields_apart() -> None:
    rollup = Rollup()
    rollup.add(_sample(1, tokens_per_second=30.0, time_to_first_token_ms=40.0, cold_start=True))
    rollup.add(_sample(2, tokens_per_second=None, time_to_first_token_ms=None))
    assert rollup.tokens_per_second_count == 1
    assert rollup.tokens_per_second_sum == 30.0
    assert sum(rollup.ttft_histogram.values()) == 1
    assert sum(rollup.latency_histogram.values()) == 2
    assert rollup.cold_start_count == 1
    assert rollup.last_timestamp_ms == BASE_MS + 2000


def test_stored_rows_merge_with_new_deltas() -> None:
    first = rollup_deltas([_sample(1), _sample(2)])
    stored = [rollup_store.rollup_to_row(key, rollup) for key, rollup in first.items()]
    merged = rollup_store.merge_rows(stored, rollup_deltas([_sample(3, response_time_ms=5000.0)]))
    counts = {row[0]: row[4] for row in merged}
    assert counts == {MINUTE_SECONDS: 3, HOUR_SECONDS: 3}
    _, rollup = rollup_store.row_to_rollup(merged[0])
    assert rollup.response_time_sum_ms == 5200.0


def test_queue_wait_and_cold_load_are_summed_and_counted_apart_and_survive_a_row() -> None:
    samples = [
        _sample(1, cold_start=True, load_duration_ms=3000.0, cold_load_ms=3000.0),
        _sample(2, load_duration_ms=800.0, queue_wait_ms=800.0),
        _sample(3, load_duration_ms=200.0, queue_wait_ms=200.0),
        _sample(4),  # the probe could not tell: counted in neither
    ]
    key, rollup = next(iter(rollup_deltas(samples).items()))
    _, read_back = rollup_store.row_to_rollup(rollup_store.rollup_to_row(key, rollup))
    assert (read_back.queue_wait_sum_ms, read_back.queue_wait_count) == (1000.0, 2)
    assert (read_back.cold_load_sum_ms, read_back.cold_load_count) == (3000.0, 1)
    assert read_back.load_duration_sum_ms == 4000.0


def test_a_period_uses_minutes_until_the_next_hour_then_hours() -> None:
    base_s = BASE_MS // 1000
    plan = plan_period(base_s + 125.7)
    assert plan.minutes_from_s == base_s + 120
    assert plan.hours_from_s == base_s + 3600
    on_the_hour = plan_period(base_s)
    assert on_the_hour.minutes_from_s == on_the_hour.hours_from_s == base_s
