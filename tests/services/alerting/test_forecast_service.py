"""The forecast rules in the running alerting service, over a real nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from ollamon_alerting.service import AlertingService, running_alerting
from ollamon_core.bus import Bus
from ollamon_core.events import OllamaSystemMetrics, ServiceName, utc_now
from ollamon_core.events.system import DiskUsageSample
from ollamon_core.insights.forecast_resources import ResourceKind
from tests.conftest import BusFactory
from tests.services.alerting.conftest import AlertInbox
from tests.services.alerting.test_service import fast_settings
from tests.support.waiting import wait_for

GB = 10**9
DISK_SERIES = ("gpu-a", ResourceKind.DISK, "/")


@pytest.fixture
async def service(clean_nats_url: str) -> AsyncIterator[AlertingService]:
    async with running_alerting(fast_settings(clean_nats_url)) as running:
        yield running


async def publish_a_filling_disk(collector: Bus) -> None:
    """90 minutes of samples: 100 GB free, 2 GB more used each hour (full in about 2 days)."""
    start = utc_now() - timedelta(minutes=90)
    for minute in range(90):
        used = 400 * GB + 2 * GB * minute // 60
        await collector.publish(
            OllamaSystemMetrics(
                host="gpu-a",
                timestamp=start + timedelta(minutes=minute),
                cpu_usage_percent=5.0,
                memory_usage_percent=40.0,
                memory_available_gb=9.6,
                memory_total_gb=16.0,
                disk_usage_percent=100 * used / (500 * GB),
                disks=[DiskUsageSample(mount="/", used_bytes=used, total_bytes=500 * GB)],
            )
        )


async def test_a_disk_filling_fast_fires_disk_full_forecast_with_its_lead_time(
    service: AlertingService, bus_factory: BusFactory, inbox: AlertInbox
) -> None:
    await publish_a_filling_disk(await bus_factory(ServiceName.COLLECTOR))
    await wait_for(lambda: inbox.states("disk_full_forecast"), 10, "disk_full_forecast firing")
    (alert,) = [a for a in inbox.alerts if a["alert_type"] == "disk_full_forecast"]
    assert inbox.states() == [("disk_full_forecast", "firing")]
    assert alert["host"] == "gpu-a"
    assert alert["severity"] == "high"  # 49 hours of a week's lead left
    assert alert["threshold"] == 168.0
    assert alert["metric_value"] == pytest.approx(49.0, abs=0.1)
    assert "disk / full in ~2 days at 48.0 GB/day" in alert["message"]


async def test_a_restarted_service_forecasts_at_once_from_its_kept_series(
    clean_nats_url: str, bus_factory: BusFactory, inbox: AlertInbox
) -> None:
    settings = fast_settings(clean_nats_url)
    collector = await bus_factory(ServiceName.COLLECTOR)
    async with running_alerting(settings) as first:
        await publish_a_filling_disk(collector)
        await wait_for(lambda: inbox.states("disk_full_forecast"), 10, "firing")
        kept = first.engine.forecasts.series[DISK_SERIES].latest
    async with running_alerting(settings) as second:
        series = second.engine.forecasts.series[DISK_SERIES]
        assert len(series.points) == 90
        assert series.latest == kept
    assert kept is not None and kept.seconds_to_full == pytest.approx(49 * 3600, rel=0.01)
