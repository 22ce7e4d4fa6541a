"""The robust seasonal baseline of one metric: rings, median/MAD band, hours, kept state."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from ollamon_core.insights.anomaly import (
    Band,
    BaselinePolicy,
    BaselineState,
    Direction,
    Ring,
    SeasonalBaseline,
    robust_center_spread,
)

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
SMALL = BaselinePolicy(
    overall_size=8, hour_size=4, min_samples=5, min_hour_samples=3, learn_spacing_seconds=60
)


def test_a_ring_keeps_the_newest_values_oldest_first() -> None:
    ring = Ring(3, [1.0, 2.0])
    for value in (3.0, 4.0, 5.0):
        ring.append(value)
    assert ring.values() == [3.0, 4.0, 5.0]
    assert len(ring) == 3


def test_median_and_mad_ignore_an_outlier_and_the_spread_has_a_floor() -> None:
    center, spread = robust_center_spread([1.0, 1.1, 0.9, 1.0, 50.0], floor=0.01)
    assert center == 1.0
    assert spread == pytest.approx(1.4826 * 0.1)
    assert robust_center_spread([2.0, 2.0, 2.0], floor=0.05) == (2.0, 0.05)


def test_a_deviation_counts_only_on_the_worse_side_in_robust_standard_deviations() -> None:
    band = Band(center=math.log(1000), spread=0.1, samples=30, hour=None)
    assert band.deviation(1000 * math.exp(0.5), Direction.HIGHER_IS_WORSE) == pytest.approx(5)
    assert band.deviation(1000 * math.exp(-0.5), Direction.HIGHER_IS_WORSE) == 0.0
    assert band.deviation(1000 * math.exp(-0.5), Direction.LOWER_IS_WORSE) == pytest.approx(5)
    assert band.deviation(0.0, Direction.LOWER_IS_WORSE) == 0.0
    low, high = band.limits(4)
    assert (low, high) == pytest.approx((1000 * math.exp(-0.4), 1000 * math.exp(0.4)))
    assert band.expected == pytest.approx(1000)


def test_a_baseline_learns_at_most_one_value_per_spacing() -> None:
    baseline = SeasonalBaseline(SMALL)
    assert baseline.learn(START, 100.0)
    assert not baseline.learn(START + timedelta(seconds=59), 100.0)
    assert baseline.learn(START + timedelta(seconds=60), 100.0)
    assert not baseline.learn(START + timedelta(seconds=200), 0.0)
    assert not baseline.learn(START + timedelta(seconds=300), math.nan)
    assert len(baseline.overall) == 2


def test_the_overall_baseline_judges_until_the_hour_has_enough_values() -> None:
    baseline = SeasonalBaseline(SMALL)
    assert baseline.band(START) is None
    for minute in range(5):  # hour 0: five values of 100
        baseline.learn(START + timedelta(minutes=minute), 100.0)
    at_one = START + timedelta(hours=1)
    for minute in range(2):  # hour 1: two values of 300 (not yet enough)
        baseline.learn(at_one + timedelta(minutes=minute), 300.0)
    band = baseline.band(at_one)
    assert band is not None
    assert band.hour is None
    assert band.expected == pytest.approx(100.0)
    baseline.learn(at_one + timedelta(minutes=2), 300.0)
    band = baseline.band(at_one + timedelta(minutes=3))
    assert band is not None
    assert band.hour == 1
    assert band.expected == pytest.approx(300.0)
    # The next day's hour 1 is judged by what hour 1 learned the day before.
    tomorrow = baseline.band(at_one + timedelta(days=1))
    assert tomorrow is not None
    assert tomorrow.hour == 1


def test_memory_stays_within_the_rings_however_long_it_learns() -> None:
    baseline = SeasonalBaseline(SMALL)
    for minute in range(0, 3 * 24 * 60, 1):
        baseline.learn(START + timedelta(minutes=minute), 100.0 + minute % 7)
    assert len(baseline.overall) == SMALL.overall_size
    assert len(baseline.hours) == 24
    assert all(len(ring) == SMALL.hour_size for ring in baseline.hours.values())


def test_a_baseline_survives_its_kept_state() -> None:
    baseline = SeasonalBaseline(SMALL)
    for minute in range(10):
        baseline.learn(START + timedelta(minutes=minute), 100.0 + minute)
    raw = baseline.state().model_dump_json()
    restored = SeasonalBaseline.from_state(BaselineState.model_validate_json(raw), SMALL)
    kept, learned = restored.band(START), baseline.band(START)
    assert kept is not None
    assert learned is not None
    assert kept.expected == pytest.approx(learned.expected, rel=1e-4)  # 5 decimals of log
    assert (kept.spread, kept.samples, kept.hour) == pytest.approx(
        (learned.spread, learned.samples, learned.hour), rel=1e-3
    )
    assert restored.learned_at == baseline.learned_at
    assert not restored.learn(START + timedelta(minutes=9, seconds=30), 1.0)


def test_kept_state_is_cut_to_the_policy_and_cleaned() -> None:
    state = BaselineState(
        overall=[0.0] * 20 + [math.inf],
        hours={3: [1.0] * 10, 99: [1.0]},
        learned_at=None,
    )
    restored = SeasonalBaseline.from_state(state, SMALL)
    assert len(restored.overall) == SMALL.overall_size
    assert set(restored.hours) == {3}
    assert len(restored.hours[3]) == SMALL.hour_size
