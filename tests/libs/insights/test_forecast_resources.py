"""The resources a system sample says fill up, and how their forecasts read."""

from __future__ import annotations

from ollamon_core.events import GpuSample, OllamaSystemMetrics
from ollamon_core.events.system import DiskUsageSample
from ollamon_core.insights.forecast_resources import (
    BYTES_PER_GIB,
    DAY,
    HOUR,
    ResourceKind,
    ResourceLevel,
    Unit,
    forecast_text,
    rate_text,
    resource_levels,
)

GB = 10**9


def sample(**fields: object) -> OllamaSystemMetrics:
    base: dict[str, object] = {
        "host": "gpu-a",
        "cpu_usage_percent": 10.0,
        "memory_usage_percent": 50.0,
        "memory_available_gb": 8.0,
        "disk_usage_percent": 40.0,
    }
    return OllamaSystemMetrics.model_validate(base | fields)


def test_a_sample_with_mounts_memory_and_gpus_gives_each_in_bytes() -> None:
    event = sample(
        memory_total_gb=16.0,
        disks=[
            DiskUsageSample(mount="/", used_bytes=40 * GB, total_bytes=100 * GB),
            DiskUsageSample(mount="/data", used_bytes=1 * GB, total_bytes=2 * GB),
        ],
        gpus=[GpuSample(index=0, name="H200", memory_used_bytes=10, memory_total_bytes=100)],
    )
    assert resource_levels(event) == [
        ResourceLevel(ResourceKind.DISK, "/", 40 * GB, 100 * GB, Unit.BYTES),
        ResourceLevel(ResourceKind.DISK, "/data", 1 * GB, 2 * GB, Unit.BYTES),
        ResourceLevel(
            ResourceKind.MEMORY, "memory", 8 * BYTES_PER_GIB, 16 * BYTES_PER_GIB, Unit.BYTES
        ),
        ResourceLevel(ResourceKind.VRAM, "GPU 0 (H200)", 10, 100, Unit.BYTES),
    ]


def test_a_sample_of_an_older_collector_gives_percents_and_no_gpu() -> None:
    assert resource_levels(sample()) == [
        ResourceLevel(ResourceKind.DISK, "disk", 40.0, 100.0, Unit.PERCENT),
        ResourceLevel(ResourceKind.MEMORY, "memory", 50.0, 100.0, Unit.PERCENT),
    ]


def test_the_host_totals_stand_for_gpus_without_their_own_figures() -> None:
    event = sample(gpu_memory_used_gb=4.0, gpu_memory_total_gb=8.0)
    vram = [level for level in resource_levels(event) if level.kind is ResourceKind.VRAM]
    assert vram == [
        ResourceLevel(
            ResourceKind.VRAM, "GPU memory", 4 * BYTES_PER_GIB, 8 * BYTES_PER_GIB, Unit.BYTES
        )
    ]


def test_a_forecast_reads_as_people_say_it() -> None:
    disk_rate = rate_text(2.1 * GB / DAY, Unit.BYTES, ResourceKind.DISK)
    assert forecast_text(ResourceKind.DISK, "/", 9.2 * DAY, disk_rate) == (
        "disk / full in ~9 days at 2.1 GB/day"
    )
    memory_rate = rate_text(3.2 * GB / HOUR, Unit.BYTES, ResourceKind.MEMORY)
    assert forecast_text(ResourceKind.MEMORY, "memory", 12 * 60, memory_rate) == (
        "memory full in ~12 minutes at 3.2 GB/hour"
    )
    percent = rate_text(1.5 / DAY, Unit.PERCENT, ResourceKind.DISK)
    assert forecast_text(ResourceKind.DISK, "disk", 5 * HOUR, percent) == (
        "disk full in ~5 hours at 1.5 %/day"
    )
