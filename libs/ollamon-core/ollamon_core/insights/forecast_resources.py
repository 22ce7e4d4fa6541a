"""What a system sample says about the resources that fill up: each filesystem, host
memory, each GPU's memory (pure), and how a forecast of one is worded.

Amounts are bytes where the sample has them (the collector's `disks`, memory in GiB, GPU
memory per GPU), else percent of the resource (`unit` tells which): a sample from an older
collector still gets a disk forecast, its rate in percent per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ollamon_core.events.system import OllamaSystemMetrics
from ollamon_core.insights.forecast import ForecastPolicy

BYTES_PER_GIB = 2**30
BYTES_PER_GB = 10**9
HOUR = 3600.0
DAY = 24 * HOUR


class ResourceKind(StrEnum):
    """A kind of resource that fills up."""

    DISK = "disk"
    MEMORY = "memory"
    VRAM = "vram"


class Unit(StrEnum):
    """The unit of a level's amounts."""

    BYTES = "bytes"
    PERCENT = "percent"


# Disks fill over days: a day of history, a point a minute, at least an hour of it. Memory
# and VRAM fill over minutes: half an hour, a point every 10 s, at least 5 minutes of it.
POLICIES: dict[ResourceKind, ForecastPolicy] = {
    ResourceKind.DISK: ForecastPolicy(window_seconds=DAY, min_points=10, min_span_seconds=HOUR),
    ResourceKind.MEMORY: ForecastPolicy(window_seconds=1800, min_points=10, min_span_seconds=300),
    ResourceKind.VRAM: ForecastPolicy(window_seconds=1800, min_points=10, min_span_seconds=300),
}
# One point per this many seconds is enough for each kind's window.
STEP_SECONDS: dict[ResourceKind, float] = {
    ResourceKind.DISK: 60.0,
    ResourceKind.MEMORY: 10.0,
    ResourceKind.VRAM: 10.0,
}


@dataclass(frozen=True)
class ResourceLevel:
    """One resource of one sample: how much is used of how much."""

    kind: ResourceKind
    name: str  # "/", "/var/lib/ollama", "memory", "GPU 0 (NVIDIA H200)"
    used: float
    capacity: float
    unit: Unit


def resource_levels(event: OllamaSystemMetrics) -> list[ResourceLevel]:
    """Every filling resource of a sample: disks per mount, memory, VRAM per GPU."""
    return [*_disks(event), *_memory(event), *_vram(event)]


def _disks(event: OllamaSystemMetrics) -> list[ResourceLevel]:
    if event.disks:
        return [
            ResourceLevel(ResourceKind.DISK, d.mount, d.used_bytes, d.total_bytes, Unit.BYTES)
            for d in event.disks
            if d.total_bytes > 0
        ]
    return [ResourceLevel(ResourceKind.DISK, "disk", event.disk_usage_percent, 100.0, Unit.PERCENT)]


def _memory(event: OllamaSystemMetrics) -> list[ResourceLevel]:
    total = event.memory_total_gb
    if total:
        used = max(total - event.memory_available_gb, 0.0) * BYTES_PER_GIB
        return [
            ResourceLevel(ResourceKind.MEMORY, "memory", used, total * BYTES_PER_GIB, Unit.BYTES)
        ]
    used_percent = event.memory_usage_percent
    return [ResourceLevel(ResourceKind.MEMORY, "memory", used_percent, 100.0, Unit.PERCENT)]


def _vram(event: OllamaSystemMetrics) -> list[ResourceLevel]:
    found = []
    for gpu in event.gpus:
        if gpu.memory_used_bytes is None or not gpu.memory_total_bytes:
            continue
        name = f"GPU {gpu.index}" + (f" ({gpu.name})" if gpu.name else "")
        found.append(
            ResourceLevel(
                ResourceKind.VRAM, name, gpu.memory_used_bytes, gpu.memory_total_bytes, Unit.BYTES
            )
        )
    if not found and event.gpu_memory_used_gb is not None and event.gpu_memory_total_gb:
        used = event.gpu_memory_used_gb * BYTES_PER_GIB
        total = event.gpu_memory_total_gb * BYTES_PER_GIB
        found.append(ResourceLevel(ResourceKind.VRAM, "GPU memory", used, total, Unit.BYTES))
    return found


def duration_text(seconds: float) -> str:
    """A lead time as people say it: "~9 days", "~5 hours", "~12 minutes"."""
    if seconds >= 2 * DAY:
        return f"~{seconds / DAY:.0f} days"
    if seconds >= 2 * HOUR:
        return f"~{seconds / HOUR:.0f} hours"
    if seconds >= 120:
        return f"~{seconds / 60:.0f} minutes"
    return f"~{max(seconds, 0):.0f} seconds"


def rate_text(rate_per_second: float, unit: Unit, kind: ResourceKind) -> str:
    """A fill rate in the unit its resource is watched in: per day for disks, per hour for
    memory and VRAM ("2.1 GB/day", "1.5 %/day", "3.2 GB/hour")."""
    per, seconds = ("day", DAY) if kind is ResourceKind.DISK else ("hour", HOUR)
    rate = rate_per_second * seconds
    if unit is Unit.PERCENT:
        return f"{rate:.1f} %/{per}"
    return f"{rate / BYTES_PER_GB:.1f} GB/{per}"


def forecast_text(kind: ResourceKind, name: str, seconds: float, rate: str) -> str:
    """The sentence of a forecast: "disk / full in ~9 days at 2.1 GB/day"."""
    subject = f"disk {name}" if kind is ResourceKind.DISK and name != "disk" else name
    return f"{subject} full in {duration_text(seconds)} at {rate}"
