"""A request window's summary is kept as requests enter and leave it (no sorting of the
whole window per request): after any mix of adds and slides it equals the summary computed
from the requests in it. What it saves is measured in `python -m bench stack_footprint`."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from ollamon_alerting.sorted_values import SortedValues
from ollamon_alerting.windows import P95, RequestSample, RequestWindow, WindowStats
from ollamon_core.events import OllamaModelMetrics
from ollamon_core.stats import mean, percentile
from tests.services.alerting.conftest import FakeClock
from tests.services.alerting.factories import failed_request, request


def recomputed(samples: list[RequestSample], context_full_percent: float) -> WindowStats:
    """The summary as it was computed before it was kept: from every sample, sorting."""
    ok = [sample for sample in samples if not sample.failed]
    ttfts = [s.time_to_first_token_ms for s in ok if s.time_to_first_token_ms is not None]
    rates = [s.tokens_per_second for s in ok if s.tokens_per_second is not None]
    return WindowStats(
        request_count=len(samples),
        failed_count=len(samples) - len(ok),
        overloaded_count=sum(s.overloaded for s in samples),
        cold_start_count=sum(s.cold_start for s in samples),
        context_full_count=sum(
            s.context_utilization_percent is not None
            and s.context_utilization_percent >= context_full_percent
            for s in samples
        ),
        response_time_p95_ms=percentile([s.response_time_ms for s in ok], P95),
        time_to_first_token_p95_ms=percentile(ttfts, P95),
        time_to_first_token_count=len(ttfts),
        tokens_per_second_mean=mean(rates),
        tokens_per_second_count=len(rates),
        load_duration_p95_ms=percentile([s.load_duration_ms for s in ok], P95),
    )


def random_request(chance: random.Random) -> OllamaModelMetrics:
    roll = chance.random()
    if roll < 0.1:
        return failed_request(response_time_ms=chance.uniform(1, 5000))
    if roll < 0.15:
        return failed_request(status_code=503, response_time_ms=chance.uniform(1, 50))
    return request(
        response_time_ms=round(chance.uniform(10, 60000), chance.choice([0, 3])),
        time_to_first_token_ms=chance.choice([None, chance.uniform(5, 900)]),
        tokens_per_second=chance.choice([None, 42.5, chance.uniform(1, 300)]),
        load_duration_ms=chance.choice([3.0, chance.uniform(0, 90000)]),
        num_ctx=chance.choice([None, 2048]),
        tokens_input=chance.randrange(0, 2100),
        cancelled=chance.random() < 0.05,
    )


def test_the_kept_summary_equals_the_summary_recomputed_from_the_window(
    clock: FakeClock,
) -> None:
    chance = random.Random(18)
    window = RequestWindow(60)
    for step in range(1500):
        window.add(RequestSample.from_event(random_request(chance), clock()))
        clock.advance(chance.choice([0.0, 0.1, 0.5, 2.0]))
        if step % 7 == 0:
            for context_full in (90.0, 100.0):
                kept = window.stats(clock(), context_full)
                expected = recomputed(list(window.samples), context_full)
                assert kept is not None
                # The mean is the exact one; summing in arrival order may differ in the last bit.
                assert kept == replace(expected, tokens_per_second_mean=kept.tokens_per_second_mean)
                if expected.tokens_per_second_mean is None:
                    assert kept.tokens_per_second_mean is None
                else:
                    assert kept.tokens_per_second_mean == pytest.approx(
                        expected.tokens_per_second_mean, rel=1e-12
                    )
    clock.advance(61)
    assert window.stats(clock()) is None
    assert not window.samples


def test_a_window_emptied_and_filled_again_starts_from_nothing(clock: FakeClock) -> None:
    window = RequestWindow(10)
    for _ in range(5):
        window.add(RequestSample.from_event(request(tokens_per_second=10.0), clock()))
    clock.advance(11)
    assert window.stats(clock()) is None
    window.add(RequestSample.from_event(request(tokens_per_second=30.0), clock()))
    stats = window.stats(clock())
    assert stats is not None
    assert (stats.request_count, stats.tokens_per_second_mean) == (1, 30.0)


def test_sorted_values_give_percentiles_exact_means_and_counts_as_values_come_and_go() -> None:
    values = SortedValues()
    for value in (5.0, 1.0, 3.0, 3.0, 0.1, 0.2, float("nan"), float("inf"), None):
        values.add(value)
    assert len(values) == 6  # NaN, infinity and None are no value
    assert values.percentile(0.5) == percentile([5.0, 1.0, 3.0, 3.0, 0.1, 0.2], 0.5)
    assert values.count_at_least(3.0) == 3
    values.remove(3.0)
    values.remove(5.0)
    values.remove(42.0)  # never added: nothing
    values.remove(float("nan"))
    assert len(values) == 4
    assert values.mean() == 4.3 / 4  # 0.1 + 0.2 + 1.0 + 3.0, summed exactly
    for value in (0.1, 0.2, 1.0, 3.0):
        values.remove(value)
    assert (len(values), values.mean(), values.percentile(0.95)) == (0, None, None)
