"""Storage answers the forecasts query from the stored system samples: each disk, memory and
GPU memory of a host, when full at its rate, soonest first; an unknown host is a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ollamon_core import subjects
from ollamon_core.bus import QueryFailedError
from ollamon_core.events import Event, GpuSample, OllamaSystemMetrics, ServiceName, utc_now
from ollamon_core.events.forecast_queries import ForecastsQuery, ForecastsReply
from ollamon_core.events.system import DiskUsageSample
from ollamon_storage import rows, writer
from ollamon_storage.database import Database
from ollamon_storage.forecast_reads import ForecastReads
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.support.waiting import wait_for_async

GB = 10**9
GIB = 2**30


def sample(minutes_ago: float, minute: int, host: str = "gpu-a") -> OllamaSystemMetrics:
    """Disk / fills 2 GB an hour (100 GB free at minute 0), /data stays, memory stays, the
    GPU's memory grows 1 % of 1 GiB a minute from half full at minute 150."""
    return OllamaSystemMetrics(
        host=host,
        timestamp=utc_now() - timedelta(minutes=minutes_ago),
        cpu_usage_percent=5.0,
        memory_usage_percent=50.0,
        memory_available_gb=8.0,
        memory_total_gb=16.0,
        disk_usage_percent=80.0,
        disks=[
            DiskUsageSample(
                mount="/", used_bytes=400 * GB + 2 * GB * minute // 60, total_bytes=500 * GB
            ),
            DiskUsageSample(mount="/data", used_bytes=10 * GB, total_bytes=100 * GB),
        ],
        gpus=[
            GpuSample(
                index=0,
                name="H200",
                memory_used_bytes=int(GIB * (0.5 + 0.01 * max(0, minute - 150))),
                memory_total_bytes=GIB,
            )
        ],
    )


async def write(database: Database, events: list[Event]) -> None:
    await writer.write_batch(
        database, rows.group_rows((event, event.model_dump_json()) for event in events)
    )


async def test_three_hours_of_samples_give_each_resource_its_time_to_full(
    database: Database,
) -> None:
    await write(database, [sample(180 - minute, minute) for minute in range(181)])
    reply = await ForecastReads(database.reader).forecasts(ForecastsQuery(host="gpu-a"))
    by_resource = {item.resource: item for item in reply.forecasts}
    assert [item.resource for item in reply.forecasts] == [
        "GPU 0 (H200)",  # full in 20 minutes
        "/",  # in 47 hours (94 GB left)
        "/data",
        "memory",
    ]
    vram = by_resource["GPU 0 (H200)"]
    assert vram.kind == "vram" and vram.points >= 10
    assert vram.seconds_to_full == pytest.approx(20 * 60, rel=0.05)
    disk = by_resource["/"]
    assert disk.kind == "disk" and disk.unit == "bytes" and disk.capacity == 500 * GB
    assert disk.seconds_to_full == pytest.approx(47 * 3600, rel=0.01)
    assert disk.rate_per_hour == pytest.approx(2 * GB, rel=0.01)
    assert disk.soonest_seconds and disk.latest_seconds and disk.seconds_to_full
    assert disk.soonest_seconds <= disk.seconds_to_full <= disk.latest_seconds
    assert disk.summary == "disk / full in ~47 hours at 48.0 GB/day"
    assert disk.window_seconds == 86400
    assert by_resource["/data"].seconds_to_full is None
    assert by_resource["/data"].summary == "/data: not filling"
    assert by_resource["memory"].seconds_to_full is None


async def test_a_new_host_has_no_forecast_yet_and_an_unknown_host_is_a_404(
    database: Database,
) -> None:
    await write(database, [sample(2 - minute, minute, host="new-box") for minute in range(3)])
    reads = ForecastReads(database.reader)
    reply = await reads.forecasts(ForecastsQuery())
    assert {item.host for item in reply.forecasts} == {"new-box"}
    assert all(item.seconds_to_full is None and item.points == 0 for item in reply.forecasts)
    assert "not enough history" in reply.forecasts[0].summary
    with pytest.raises(QueryFailedError) as raised:
        await reads.forecasts(ForecastsQuery(host="nowhere"))
    assert raised.value.error.status_code == 404


async def test_the_forecasts_query_is_answered_over_nats(
    running_storage: StorageSettings, bus_factory: BusFactory
) -> None:
    collector = await bus_factory(ServiceName.COLLECTOR)
    for minute in range(3):
        await collector.publish_persistent(sample(2 - minute, minute))

    async def answered() -> ForecastsReply | None:
        try:
            return await collector.request(subjects.QUERY_FORECASTS, ForecastsQuery(host="gpu-a"))
        except QueryFailedError:  # 404 until the first sample is stored
            return None

    reply = await wait_for_async(answered, timeout=15, message="forecasts of gpu-a")
    assert isinstance(reply, ForecastsReply)
    assert {item.resource for item in reply.forecasts} == {"/", "/data", "memory", "GPU 0 (H200)"}
