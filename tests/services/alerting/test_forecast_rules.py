"""The forecast rules in the engine: disk, memory and VRAM that fill up fire with their lead
time; flat, noisy or just-cleaned series do not."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from ollamon_alerting.engine import AlertEngine
from ollamon_alerting.rules import RuleName, Scale
from ollamon_alerting.severity import severity_for
from ollamon_core.events import (
    GpuSample,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
    Severity,
    ThresholdUpdate,
)
from ollamon_core.events.system import DiskUsageSample
from tests.services.alerting.conftest import START, make_settings
from tests.services.alerting.factories import HOST

GB = 10**9
GIB = 2**30


def sample(
    minute: float,
    disk_used: float = 400 * GB,
    memory_available_gib: float = 8.0,
    vram_used: int | None = None,
) -> OllamaSystemMetrics:
    return OllamaSystemMetrics(
        host=HOST,
        timestamp=START + timedelta(minutes=minute),
        cpu_usage_percent=10.0,
        memory_usage_percent=100 * (1 - memory_available_gib / 16),
        memory_available_gb=memory_available_gib,
        memory_total_gb=16.0,
        disk_usage_percent=100 * disk_used / (500 * GB),
        disks=[DiskUsageSample(mount="/", used_bytes=int(disk_used), total_bytes=500 * GB)],
        gpus=[]
        if vram_used is None
        else [GpuSample(index=0, name="H200", memory_used_bytes=vram_used, memory_total_bytes=GIB)],
    )


def feed(engine: AlertEngine, samples: list[OllamaSystemMetrics]) -> list[OllamaPerformanceAlert]:
    alerts = []
    for event in samples:
        alerts.extend(engine.on_system(event, event.timestamp))
    return alerts


def of(rule: RuleName, alerts: list[OllamaPerformanceAlert]) -> list[OllamaPerformanceAlert]:
    return [alert for alert in alerts if alert.alert_type == rule.value]


@pytest.fixture
def engine() -> AlertEngine:
    return AlertEngine(make_settings(for_seconds=0))


def test_a_disk_filling_at_a_steady_rate_fires_with_its_lead_time(engine: AlertEngine) -> None:
    rate = 2 * GB  # an hour: 100 GB left is 50 hours
    samples = [sample(minute, disk_used=400 * GB + rate * minute / 60) for minute in range(90)]
    (alert,) = of(RuleName.DISK_FULL_FORECAST, feed(engine, samples))
    assert alert.state == "firing"
    assert alert.model_name is None
    assert alert.threshold == 168.0
    assert alert.timestamp == START + timedelta(hours=1)  # the first forecast: an hour of data
    assert alert.metric_value == pytest.approx(49.0)  # hours, at the first forecast
    assert alert.severity is Severity.HIGH  # under half the week's lead, over a sixth
    assert "disk / full in ~2 days at 48.0 GB/day" in alert.message


def test_a_disk_filling_slower_than_the_lead_time_does_not_fire(engine: AlertEngine) -> None:
    rate = 0.5 * GB  # an hour: 100 GB left is 200 hours, more than a week
    samples = [sample(minute, disk_used=400 * GB + rate * minute / 60) for minute in range(121)]
    assert of(RuleName.DISK_FULL_FORECAST, feed(engine, samples)) == []
    update = ThresholdUpdate(rule="disk_full_forecast", threshold=240)
    engine.controls.set_threshold(update, START)
    (alert,) = of(RuleName.DISK_FULL_FORECAST, feed(engine, [sample(121.5, 400 * GB + rate * 2)]))
    assert alert.threshold == 240


def test_a_flat_or_noisy_disk_does_not_fire(engine: AlertEngine) -> None:
    rng = random.Random(7)
    samples = [sample(minute, disk_used=450 * GB + rng.gauss(0, 2 * GB)) for minute in range(240)]
    assert of(RuleName.DISK_FULL_FORECAST, feed(engine, samples)) == []


def test_a_cleanup_resolves_a_disk_forecast(engine: AlertEngine) -> None:
    rate = 10 * GB
    filling = [sample(minute, disk_used=300 * GB + rate * minute / 60) for minute in range(90)]
    assert [a.state for a in of(RuleName.DISK_FULL_FORECAST, feed(engine, filling))] == ["firing"]
    cleaned = [sample(90 + minute, disk_used=200 * GB) for minute in range(5)]
    alerts = of(RuleName.DISK_FULL_FORECAST, feed(engine, cleaned))
    assert [alert.state for alert in alerts] == ["resolved"]


def test_memory_filling_within_the_hour_fires_and_flat_memory_does_not(
    engine: AlertEngine,
) -> None:
    flat = [sample(minute / 6) for minute in range(60)]
    assert of(RuleName.MEMORY_PRESSURE_FORECAST, feed(engine, flat)) == []
    # 8 GiB free, falling 0.3 GiB a minute from minute 10: empty 27 minutes later (the
    # line over the flat minutes before says later, within the hour still).
    leak = [sample(10 + i / 6, memory_available_gib=8.0 - 0.3 * i / 6) for i in range(60)]
    (alert,) = of(RuleName.MEMORY_PRESSURE_FORECAST, feed(engine, leak))
    assert alert.threshold == 60.0
    assert alert.metric_value is not None and 27 < alert.metric_value < 60
    assert "memory full in ~" in alert.message and "GB/hour" in alert.message


def test_vram_filling_fast_is_critical(engine: AlertEngine) -> None:
    # 1 GiB, half used, 2 % of it more each minute: full in about 20 minutes.
    samples = [sample(i / 6, vram_used=int(GIB * (0.5 + 0.02 * i / 6))) for i in range(60)]
    (alert,) = of(RuleName.VRAM_PRESSURE_FORECAST, feed(engine, samples))
    assert alert.severity is Severity.HIGH
    assert "GPU 0 (H200) full in ~" in alert.message
    late = [sample(10 + i / 6, vram_used=int(GIB * (0.7 + 0.02 * i / 6))) for i in range(60)]
    alerts = of(RuleName.VRAM_PRESSURE_FORECAST, feed(engine, late))
    assert [alert.severity for alert in alerts] == [Severity.CRITICAL]


@pytest.mark.parametrize(
    ("left", "grade"),
    [
        (168.0, Severity.MEDIUM),
        (84.1, Severity.MEDIUM),
        (84.0, Severity.HIGH),
        (28.0, Severity.CRITICAL),
        (0.0, Severity.CRITICAL),
    ],
)
def test_a_forecast_is_graded_by_the_share_of_its_lead_time_left(
    left: float, grade: Severity
) -> None:
    assert severity_for(Scale.LEAD, left, 168.0) is grade
