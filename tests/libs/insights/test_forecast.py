"""Forecasts of when a resource is full, on synthetic series."""

from __future__ import annotations

import random

import pytest

from ollamon_core.insights.forecast import ForecastPolicy, forecast, linear_fit

GB = 10**9
DAY = 86400.0
HOUR = 3600.0
DISK = ForecastPolicy(window_seconds=DAY, min_points=10, min_span_seconds=HOUR)


def series(
    hours: float, step_s: float, start: float, rate_per_s: float, noise: float = 0.0, seed: int = 0
) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    count = int(hours * HOUR / step_s)
    return [
        (i * step_s, start + rate_per_s * i * step_s + rng.gauss(0.0, noise)) for i in range(count)
    ]


def test_a_linear_fill_is_full_when_the_line_reaches_the_capacity() -> None:
    rate = 2.1 * GB / DAY
    points = series(hours=12, step_s=60, start=400 * GB, rate_per_s=rate)
    capacity = 500 * GB
    found = forecast(points, capacity, DISK)
    assert found is not None and found.seconds_to_full is not None
    expected = (capacity - points[-1][1]) / rate
    assert found.seconds_to_full == pytest.approx(expected, rel=1e-6)
    assert found.rate_per_second == pytest.approx(rate, rel=1e-6)
    assert found.seconds_to_full / DAY == pytest.approx(47.1, abs=0.1)


def test_a_noisy_linear_fill_has_its_lead_time_within_the_interval() -> None:
    rate = 10 * GB / DAY
    points = series(hours=12, step_s=60, start=400 * GB, rate_per_s=rate, noise=0.2 * GB, seed=3)
    found = forecast(points, 500 * GB, DISK)
    true_lead = (500 * GB - (400 * GB + rate * points[-1][0])) / rate
    assert found is not None and found.soonest_seconds is not None
    assert found.latest_seconds is not None
    assert found.soonest_seconds <= true_lead <= found.latest_seconds
    assert found.seconds_to_full == pytest.approx(true_lead, rel=0.1)


def test_a_flat_series_is_not_filling() -> None:
    points = series(hours=12, step_s=60, start=400 * GB, rate_per_s=0.0)
    found = forecast(points, 500 * GB, DISK)
    assert found is not None
    assert not found.filling and found.seconds_to_full is None


def test_noise_alone_rarely_fills_and_never_within_a_week() -> None:
    filling = []
    for seed in range(200):
        points = series(
            hours=12, step_s=60, start=400 * GB, rate_per_s=0.0, noise=1 * GB, seed=seed
        )
        found = forecast(points, 500 * GB, DISK)
        assert found is not None
        if found.seconds_to_full is not None:
            filling.append(found.seconds_to_full)
    assert len(filling) <= 12  # a 95 % interval above zero: about 2.5 % of the series
    assert all(seconds > 7 * DAY for seconds in filling)


def test_a_cleanup_drop_starts_the_trend_again() -> None:
    rate = 20 * GB / DAY
    before = series(hours=10, step_s=60, start=400 * GB, rate_per_s=rate)
    freed = [
        (t + 10 * HOUR, 300.0 * GB) for t, _ in series(hours=2, step_s=60, start=0, rate_per_s=0)
    ]
    found = forecast(before + freed, 500 * GB, DISK)
    assert found is not None
    assert found.seconds_to_full is None  # flat since the cleanup
    assert found.points == len(freed)
    assert found.current == pytest.approx(300 * GB)


def test_a_drop_just_before_now_leaves_too_few_points_for_a_forecast() -> None:
    rate = 20 * GB / DAY
    before = series(hours=10, step_s=60, start=400 * GB, rate_per_s=rate)
    after = [(10 * HOUR + 60 * i, 300.0 * GB) for i in range(5)]
    assert forecast(before + after, 500 * GB, DISK) is None


@pytest.mark.parametrize(
    ("points", "why"),
    [
        ([(float(i * 60), 1.0 * i) for i in range(9)], "fewer than ten points"),
        ([(float(i), 1.0 * i) for i in range(100)], "less than an hour of them"),
        ([], "no points"),
    ],
)
def test_too_little_history_is_no_forecast(points: list[tuple[float, float]], why: str) -> None:
    assert forecast(points, 1000.0, DISK) is None, why


def test_only_the_window_counts() -> None:
    old_fast = series(hours=24, step_s=60, start=0, rate_per_s=100 * GB / DAY)
    recent_flat = [(t + 24 * HOUR, old_fast[-1][1]) for t, _ in series(25, 60, 0, 0)]
    found = forecast(old_fast + recent_flat, 500 * GB, DISK)
    assert found is not None and found.seconds_to_full is None


def test_a_resource_already_full_has_no_time_left() -> None:
    points = series(hours=2, step_s=60, start=95.0, rate_per_s=10.0 / HOUR)
    found = forecast(points, 100.0, DISK)
    assert found is not None and found.seconds_to_full == 0.0


def test_a_line_needs_a_spread_of_times() -> None:
    assert linear_fit([(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]) is None
    assert linear_fit([(1.0, 1.0), (2.0, 2.0)]) is None
