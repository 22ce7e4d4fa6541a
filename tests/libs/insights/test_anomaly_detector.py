"""The anomaly detector on synthetic series: a step is caught, a slow drift and a learned daily
cycle are not alarms, and noise alone almost never is (rate measured over 1,000 series)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ollamon_core.insights.anomaly import BaselinePolicy, Direction
from ollamon_core.insights.anomaly_detector import MetricDetector, kth_largest

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
THRESHOLD = 4.0  # robust standard deviations: alerting's default
BREACHES, REQUESTS = 3, 10  # k of n: alerting's defaults
NOISE = 0.1  # log-normal noise: about 10 % either way
DAY = 24 * 3600.0

# A level (the metric's true value) at a time.
Level = Callable[[datetime], float]


@dataclass
class Run:
    """Where a detector's condition (k of the last n over the threshold) started."""

    detector: MetricDetector
    alarms: list[datetime] = field(default_factory=list)
    judged: int = 0
    flagged: int = 0


def series(
    level: Level, seconds: float, spacing: float, seed: int
) -> Iterator[tuple[datetime, float]]:
    """A request every `spacing` seconds for `seconds`: the level times log-normal noise."""
    rng = random.Random(seed)
    for step in range(int(seconds // spacing)):
        at = START + timedelta(seconds=step * spacing)
        yield at, level(at) * math.exp(rng.gauss(0.0, NOISE))


def run(
    values: Iterator[tuple[datetime, float]],
    direction: Direction = Direction.HIGHER_IS_WORSE,
) -> Run:
    result = Run(MetricDetector(BaselinePolicy(), direction, REQUESTS))
    firing = False
    for at, value in values:
        judgement, _ = result.detector.observe(at, value)
        if judgement is not None:
            result.judged += 1
            result.flagged += judgement.deviation > THRESHOLD
        finding = result.detector.finding(at, BREACHES, THRESHOLD)
        now = finding is not None and finding.value > THRESHOLD
        if now and not firing:
            result.alarms.append(at)
        firing = now
    return result


def steady(value: float) -> Level:
    return lambda _at: value


def step(before: float, after: float, at: datetime) -> Level:
    return lambda when: before if when < at else after


def test_the_kth_largest_is_zero_with_fewer_than_k_values() -> None:
    assert kth_largest([5.0, 1.0, 3.0], 2) == 3.0
    assert kth_largest([5.0], 3) == 0.0


def test_a_latency_step_to_twice_the_level_is_caught_within_k_requests() -> None:
    change = START + timedelta(days=1)
    result = run(series(step(800.0, 1600.0, change), 1.5 * DAY, 120, seed=1))
    assert len(result.alarms) >= 1
    first = result.alarms[0]
    assert change <= first <= change + timedelta(seconds=(BREACHES - 1) * 120)
    finding = result.detector.finding(first, BREACHES, THRESHOLD)
    assert finding is not None


def test_a_step_of_half_the_level_again_is_caught_within_ten_requests() -> None:
    change = START + timedelta(days=1)
    result = run(series(step(800.0, 1200.0, change), 1.5 * DAY, 120, seed=2))
    assert result.alarms
    assert change <= result.alarms[0] <= change + timedelta(seconds=9 * 120)


def test_the_evidence_names_the_expected_band_and_how_many_were_outside() -> None:
    change = START + timedelta(days=1)
    end = change + timedelta(seconds=5 * 120)  # the sixth request since the step
    result = run(series(step(800.0, 1600.0, change), DAY + 6 * 120, 120, seed=3))
    finding = result.detector.finding(end, BREACHES, THRESHOLD)
    assert finding is not None
    low, high = finding.band.limits(THRESHOLD)
    assert low < 800 < high < 1600
    assert finding.over == 6
    assert finding.judged == REQUESTS
    assert 1400 < finding.observed < 1800


def test_a_tokens_per_second_drop_is_an_anomaly_and_a_rise_is_not() -> None:
    change = START + timedelta(days=1)
    dropped = run(
        series(step(60.0, 36.0, change), 1.2 * DAY, 120, seed=4), Direction.LOWER_IS_WORSE
    )
    assert dropped.alarms
    assert dropped.alarms[0] <= change + timedelta(seconds=(BREACHES - 1) * 120)
    rose = run(series(step(60.0, 120.0, change), 1.2 * DAY, 120, seed=4), Direction.LOWER_IS_WORSE)
    assert rose.alarms == []


def test_a_step_becomes_the_new_normal_once_the_baseline_has_learned_it() -> None:
    change = START + timedelta(days=1)
    result = run(series(step(800.0, 1600.0, change), 2 * DAY, 120, seed=5))
    finding = result.detector.finding(START + timedelta(days=2), BREACHES, THRESHOLD)
    assert finding is not None
    assert finding.value < THRESHOLD  # tracked after a day: the hour's ring holds the new level
    assert 1300 < finding.band.expected < 1900


def drift(per_day: float) -> Level:
    return lambda at: 800.0 * per_day ** ((at - START).total_seconds() / DAY)


def test_a_slow_drift_of_ten_percent_a_day_is_tracked_not_alarmed() -> None:
    # Tracked, by design: the baseline follows a drift slower than about 1.5 robust standard
    # deviations a day (15 %/day at 10 % noise); what it loses for good is the fixed
    # baseline's job (tokens_per_second_regression).
    result = run(series(drift(1.1), 4 * DAY, 120, seed=6))
    assert result.alarms == []
    end = START + timedelta(days=4) - timedelta(seconds=120)
    finding = result.detector.finding(end, BREACHES, THRESHOLD)
    assert finding is not None
    assert drift(1.1)(end) / 1.1 < finding.band.expected < drift(1.1)(end) * 1.1


def test_a_fast_drift_of_half_again_a_day_is_detected() -> None:
    result = run(series(drift(1.5), 3 * DAY, 120, seed=6))
    assert result.alarms
    assert result.alarms[0] < START + timedelta(days=1, hours=3)


def test_a_daily_cycle_is_no_alarm() -> None:
    def cycle(at: datetime) -> float:
        hours = (at - START).total_seconds() / 3600
        return 800.0 * math.exp(0.35 * math.sin(2 * math.pi * hours / 24))  # x0.7 .. x1.4

    result = run(series(cycle, 4 * DAY, 120, seed=7))
    assert result.alarms == []


def test_a_nightly_busy_hour_alarms_the_first_night_only_once_its_hour_is_learned() -> None:
    def nightly(at: datetime) -> float:
        return 2400.0 if at.hour == 2 else 800.0

    result = run(series(nightly, 4 * DAY, 120, seed=8))
    assert result.alarms
    assert all(alarm < START + timedelta(days=1) for alarm in result.alarms)
    assert result.alarms[0].hour == 2


def test_noise_alone_alarms_on_fewer_than_one_series_day_in_a_hundred() -> None:
    # 1,000 seeded series of one day each, a request every 5 minutes (288, the first 30
    # learning). A request is outside 4 robust standard deviations with probability about
    # 3e-5 for a known normal, more with the median and MAD estimated from 30-128 values;
    # three of ten at once is rarer still. The bound (10 of 1,000 series-days: one false
    # page per model every 100 days) is the promise; the measured count is in the closing
    # note of issue 19 and docs/decisions/0020-anomaly-baselines.md.
    alarmed = judged = flagged = 0
    for seed in range(1000):
        result = run(series(steady(800.0), DAY, 300, seed=10_000 + seed))
        alarmed += bool(result.alarms)
        judged += result.judged
        flagged += result.flagged
    assert judged > 250_000
    assert flagged / judged < 1e-3
    assert alarmed <= 10
