"""Sampling the host with psutil: CPU, load, memory, swap, disks, network, processes.

Blocking (reads of /proc): the service calls `HostSampler.sample` through
`asyncio.to_thread`. One sample costs well under a millisecond of CPU here (see the
collector_cost bench). Total CPU percent is the mean of the per-core figures, so `/proc/stat`
is read once per sample; network counters leave out the loopback interface, whose
traffic (NATS, the Ollama proxy) never leaves the machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ollamon_collector.connections import TcpConnectionCounter
from ollamon_collector.ollama_processes import OllamaProcessTracker
from ollamon_collector.rates import IoCounters, IoRates, io_rates
from ollamon_core.events import OllamaProcessSample
from ollamon_core.events.system import DiskUsageSample

LOOPBACK_PREFIXES = ("lo",)
DISK_TOTAL_KEY = "all"


@dataclass(frozen=True)
class HostSample:
    """Everything psutil told us about the host at one moment (bytes, percents)."""

    cpu_usage_percent: float
    cpu_per_core_percent: list[float]
    load_average: tuple[float, float, float] | None
    memory_usage_percent: float
    memory_available_bytes: int
    memory_used_bytes: int
    memory_total_bytes: int
    swap_usage_percent: float | None
    swap_used_bytes: int | None
    root_disk_usage_percent: float
    storage_disk_usage_percent: float | None
    rates: IoRates
    active_connections: int | None
    process_count: int
    ollama_processes: list[OllamaProcessSample] = field(default_factory=list)
    disks: list[DiskUsageSample] = field(default_factory=list)


def existing_ancestor(path: Path) -> Path:
    """The path itself or its nearest existing parent (the storage folder may not exist yet)."""
    candidate = path.absolute()
    while not candidate.exists() and candidate != candidate.parent:
        candidate = candidate.parent
    return candidate


def mean(values: list[float]) -> float:
    """Arithmetic mean, 0.0 for no values."""
    return sum(values) / len(values) if values else 0.0


def read_load_average() -> tuple[float, float, float] | None:
    """1, 5 and 15 minute load averages, or None where the OS has none."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def read_io_counters(clock: Callable[[], float] = time.monotonic) -> IoCounters:
    """Disk totals (partitions excluded by psutil) and per-NIC counters, loopback left out."""
    disk = psutil.disk_io_counters(perdisk=False)
    nics = psutil.net_io_counters(pernic=True)
    external = {
        name: counters for name, counters in nics.items() if not name.startswith(LOOPBACK_PREFIXES)
    }
    return IoCounters(
        monotonic_seconds=clock(),
        disk_read_bytes={DISK_TOTAL_KEY: disk.read_bytes} if disk else {},
        disk_write_bytes={DISK_TOTAL_KEY: disk.write_bytes} if disk else {},
        network_rx_bytes={name: counters.bytes_recv for name, counters in external.items()},
        network_tx_bytes={name: counters.bytes_sent for name, counters in external.items()},
    )


class HostSampler:
    """Takes host samples, keeping what rates need between them.

    Args:
        storage_path: the storage folder, whose filesystem usage is reported besides root.
        disk_paths: other folders whose filesystems are reported in bytes (Ollama's models).
        connections: the TCP connection counter.
        ollama_processes: the Ollama process tracker.
    """

    def __init__(
        self,
        storage_path: Path,
        connections: TcpConnectionCounter,
        ollama_processes: OllamaProcessTracker,
        *,
        disk_paths: Sequence[Path] = (),
    ) -> None:
        self._storage_path = storage_path
        self._disk_paths = list(disk_paths)
        self._root_path = Path(Path.cwd().anchor or "/")
        self.connections = connections
        self.ollama_processes = ollama_processes
        psutil.cpu_percent(percpu=True)  # the first call only starts psutil's CPU clock
        self._previous_counters: IoCounters | None = read_io_counters()

    def sample(self) -> HostSample:
        """Read the host now; CPU and rates cover the time since the previous sample."""
        per_core = [float(value) for value in psutil.cpu_percent(percpu=True)]
        memory = psutil.virtual_memory()
        swap_percent, swap_used_bytes = _read_swap()
        counters = read_io_counters()
        rates = io_rates(self._previous_counters, counters)
        self._previous_counters = counters
        return HostSample(
            cpu_usage_percent=mean(per_core),
            cpu_per_core_percent=per_core,
            load_average=read_load_average(),
            memory_usage_percent=float(memory.percent),
            memory_available_bytes=int(memory.available),
            memory_used_bytes=int(memory.used),
            memory_total_bytes=int(memory.total),
            swap_usage_percent=swap_percent,
            swap_used_bytes=swap_used_bytes,
            root_disk_usage_percent=float(psutil.disk_usage(str(self._root_path)).percent),
            storage_disk_usage_percent=_disk_percent(existing_ancestor(self._storage_path)),
            rates=rates,
            active_connections=self.connections.count(),
            process_count=len(psutil.pids()),
            ollama_processes=self.ollama_processes.sample(),
            disks=read_disks(
                [self._root_path, existing_ancestor(self._storage_path), *self._disk_paths]
            ),
        )


def _read_swap() -> tuple[float | None, int | None]:
    try:
        swap = psutil.swap_memory()
    except (OSError, RuntimeError):  # no swap accounting (some containers)
        return None, None
    return float(swap.percent), int(swap.used)


def ollama_models_folder(environ: Mapping[str, str]) -> Path | None:
    """Where Ollama keeps its models: `OLLAMA_MODELS`, else ~/.ollama/models if it exists."""
    if environ.get("OLLAMA_MODELS"):
        return Path(environ["OLLAMA_MODELS"])
    default = Path.home() / ".ollama" / "models"
    return default if default.is_dir() else None


def mount_point(path: Path) -> Path:
    """The mount point of the filesystem holding `path` (an existing path)."""
    candidate = path.absolute()
    while not candidate.is_mount() and candidate != candidate.parent:
        candidate = candidate.parent
    return candidate


def read_disks(paths: list[Path]) -> list[DiskUsageSample]:
    """Bytes used and usable (used + free, as `df` counts) of each path's filesystem, once
    per mount point; a path that cannot be read is left out."""
    found: dict[Path, DiskUsageSample] = {}
    for path in paths:
        try:
            mount = mount_point(path)
            if mount in found:
                continue
            usage = psutil.disk_usage(str(mount))
        except OSError:
            continue
        found[mount] = DiskUsageSample(
            mount=str(mount), used_bytes=usage.used, total_bytes=usage.used + usage.free
        )
    return list(found.values())


def _disk_percent(path: Path) -> float | None:
    try:
        return float(psutil.disk_usage(str(path)).percent)
    except OSError:
        return None
