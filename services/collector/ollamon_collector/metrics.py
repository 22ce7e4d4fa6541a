"""Turning a host sample, GPU samples and model counts into one `OllamaSystemMetrics`.

The seed's single-GPU fields summarise every GPU: `gpu_usage_percent` is the mean
utilisation of the GPUs that answered, `gpu_memory_used_gb` and `gpu_memory_total_gb` are
sums (what an operator sizes models against). Sizes in `_gb` fields are GiB (2^30 bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ollamon_collector.gpu_detection import GpuDetection
from ollamon_collector.host import HostSample
from ollamon_collector.models_state import ModelCounts
from ollamon_core.events import GpuSample, OllamaSystemMetrics

BYTES_PER_GIB = 1024**3


@dataclass(frozen=True)
class GpuSummary:
    """The seed's single-GPU fields, over all GPUs; None where no GPU answered."""

    usage_percent: float | None = None
    memory_used_gb: float | None = None
    memory_total_gb: float | None = None


def summarise_gpus(gpus: Sequence[GpuSample]) -> GpuSummary:
    """Mean utilisation and summed memory of the GPUs without an error."""
    healthy = [gpu for gpu in gpus if gpu.error is None]
    utilisations = [
        gpu.utilization_percent for gpu in healthy if gpu.utilization_percent is not None
    ]
    used = [gpu.memory_used_bytes for gpu in healthy if gpu.memory_used_bytes is not None]
    total = [gpu.memory_total_bytes for gpu in healthy if gpu.memory_total_bytes is not None]
    return GpuSummary(
        usage_percent=sum(utilisations) / len(utilisations) if utilisations else None,
        memory_used_gb=sum(used) / BYTES_PER_GIB if used else None,
        memory_total_gb=sum(total) / BYTES_PER_GIB if total else None,
    )


def gib(value_bytes: int | None) -> float | None:
    """Bytes as GiB, None stays None."""
    return None if value_bytes is None else value_bytes / BYTES_PER_GIB


def build_system_metrics(
    host: HostSample,
    gpus: Sequence[GpuSample],
    detection: GpuDetection,
    models: ModelCounts,
    *,
    host_label: str,
    interval_seconds: float,
) -> OllamaSystemMetrics:
    """One system sample, ready to publish."""
    summary = summarise_gpus(gpus)
    load = host.load_average or (None, None, None)
    return OllamaSystemMetrics(
        host=host_label,
        interval_seconds=interval_seconds,
        cpu_usage_percent=host.cpu_usage_percent,
        cpu_per_core_percent=host.cpu_per_core_percent,
        load_average_1m=load[0],
        load_average_5m=load[1],
        load_average_15m=load[2],
        memory_usage_percent=host.memory_usage_percent,
        memory_available_gb=host.memory_available_bytes / BYTES_PER_GIB,
        memory_used_gb=host.memory_used_bytes / BYTES_PER_GIB,
        memory_total_gb=host.memory_total_bytes / BYTES_PER_GIB,
        swap_usage_percent=host.swap_usage_percent,
        swap_used_gb=gib(host.swap_used_bytes),
        disk_usage_percent=host.root_disk_usage_percent,
        storage_disk_usage_percent=host.storage_disk_usage_percent,
        disks=host.disks,
        disk_read_mbps=host.rates.disk_read_mbps,
        disk_write_mbps=host.rates.disk_write_mbps,
        network_rx_mbps=host.rates.network_rx_mbps,
        network_tx_mbps=host.rates.network_tx_mbps,
        network_io_mbps=host.rates.network_total_mbps,
        active_connections=host.active_connections or 0,
        active_connections_available=host.active_connections is not None,
        process_count=host.process_count,
        ollama_processes=host.ollama_processes,
        models_loaded=models.loaded,
        total_models=models.total,
        gpu_detection=detection.kind.value,
        gpu_detection_reason=detection.reason,
        gpus=list(gpus),
        gpu_usage_percent=summary.usage_percent,
        gpu_memory_used_gb=summary.memory_used_gb,
        gpu_memory_total_gb=summary.memory_total_gb,
    )
