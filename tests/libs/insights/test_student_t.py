"""Student's t: the 95 % quantiles, and the mean of a small sample with its interval."""

from __future__ import annotations

import math
import random

import pytest

from ollamon_core.insights.student_t import t_interval, t_quantile_95


def test_no_sample_gives_no_interval() -> None:
    assert t_interval([]) is None


def test_one_sample_is_its_own_interval() -> None:
    interval = t_interval([42.0])
    assert interval is not None
    assert (interval.mean, interval.low, interval.high, interval.samples) == (42, 42, 42, 1)


def test_three_samples_use_t_with_two_degrees_of_freedom() -> None:
    # mean 20, s = 10, half width = 4.303 * 10 / sqrt(3) = 24.844
    interval = t_interval([10.0, 20.0, 30.0])
    assert interval is not None
    assert interval.mean == pytest.approx(20.0)
    assert interval.low == pytest.approx(20.0 - 24.8434, abs=1e-3)
    assert interval.high == pytest.approx(20.0 + 24.8434, abs=1e-3)
    assert interval.samples == 3


def test_identical_samples_have_no_width() -> None:
    interval = t_interval([5.0, 5.0, 5.0, 5.0])
    assert interval is not None
    assert interval.low == interval.mean == interval.high == 5.0


def test_non_finite_samples_are_left_out() -> None:
    interval = t_interval([1.0, math.nan, 3.0, math.inf])
    assert interval is not None
    assert interval.samples == 2 and interval.mean == 2.0


@pytest.mark.parametrize(
    ("df", "quantile"),
    [(1, 12.706), (2, 4.303), (10, 2.228), (30, 2.042), (60, 2.000), (120, 1.980), (1000, 1.962)],
)
def test_the_quantiles_are_students(df: int, quantile: float) -> None:
    assert t_quantile_95(df) == pytest.approx(quantile, abs=1.5e-3)


def test_zero_degrees_of_freedom_is_refused() -> None:
    with pytest.raises(ValueError, match="degree of freedom"):
        t_quantile_95(0)


def test_the_interval_covers_the_true_mean_about_95_times_in_100() -> None:
    rng = random.Random(19)
    trials = 4000
    covered = 0
    for _ in range(trials):
        interval = t_interval([rng.gauss(100.0, 15.0) for _ in range(4)])
        assert interval is not None
        covered += interval.low <= 100.0 <= interval.high
    assert 0.935 <= covered / trials <= 0.965


def test_a_widely_spread_sample_of_a_rate_stops_its_interval_at_zero() -> None:
    spread = [10.0, 12.0, 9_000.0]
    assert (t := t_interval(spread)) is not None and t.low < 0
    interval = t_interval(spread, lowest=0.0)
    assert interval is not None
    assert interval.low == 0.0
    assert interval.high == t.high and interval.mean == t.mean


def test_the_lowest_bound_leaves_a_narrow_interval_alone() -> None:
    assert t_interval([5.0, 6.0, 7.0], lowest=0.0) == t_interval([5.0, 6.0, 7.0])
