"""Building the published sample from host, GPU and model readings."""

from __future__ import annotations

from typing import Any

import pytest

from ollamon_collector.gpu_detection import GpuDetection, GpuDetectionKind
from ollamon_collector.host import HostSample
from ollamon_collector.metrics import build_system_metrics, summarise_gpus
from ollamon_collector.models_state import ModelCounts
from ollamon_collector.rates import IoRates
from ollamon_core.events import GpuSample, OllamaProcessSample

GIB = 1024**3
CPU_ONLY = GpuDetection(GpuDetectionKind.CPU_ONLY, "nothing found")


def host_sample(**changes: object) -> HostSample:
    values: dict[str, Any] = {
        "cpu_usage_percent": 25.0,
        "cpu_per_core_percent": [10.0, 40.0],
        "load_average": (1.5, 1.0, 0.5),
        "memory_usage_percent": 50.0,
        "memory_available_bytes": 8 * GIB,
        "memory_used_bytes": 6 * GIB,
        "memory_total_bytes": 16 * GIB,
        "swap_usage_percent": 10.0,
        "swap_used_bytes": GIB,
        "root_disk_usage_percent": 40.0,
        "storage_disk_usage_percent": 70.0,
        "rates": IoRates(1.0, 2.0, 3.0, 4.0),
        "active_connections": 12,
        "process_count": 300,
        "ollama_processes": [OllamaProcessSample(pid=5, role="server", cpu_percent=1.0)],
    }
    values.update(changes)
    return HostSample(**values)


def test_every_host_figure_lands_in_its_field_with_host_and_interval() -> None:
    metrics = build_system_metrics(
        host_sample(), [], CPU_ONLY, ModelCounts(2, 5), host_label="gpu-1", interval_seconds=1.0
    )
    assert metrics.host == "gpu-1"
    assert metrics.interval_seconds == 1.0
    assert metrics.cpu_usage_percent == 25.0
    assert metrics.cpu_per_core_percent == [10.0, 40.0]
    assert (metrics.load_average_1m, metrics.load_average_15m) == (1.5, 0.5)
    assert metrics.memory_available_gb == pytest.approx(8.0)
    assert metrics.memory_used_gb == pytest.approx(6.0)
    assert metrics.memory_total_gb == pytest.approx(16.0)
    assert metrics.swap_used_gb == pytest.approx(1.0)
    assert metrics.disk_usage_percent == 40.0
    assert metrics.storage_disk_usage_percent == 70.0
    assert (metrics.disk_read_mbps, metrics.disk_write_mbps) == (1.0, 2.0)
    assert (metrics.network_rx_mbps, metrics.network_tx_mbps) == (3.0, 4.0)
    assert metrics.network_io_mbps == pytest.approx(7.0)
    assert metrics.active_connections == 12
    assert metrics.active_connections_available
    assert metrics.process_count == 300
    assert metrics.ollama_processes[0].pid == 5
    assert (metrics.models_loaded, metrics.total_models) == (2, 5)
    assert metrics.gpu_detection == "cpu_only"
    assert metrics.gpu_detection_reason == "nothing found"
    assert metrics.gpu_usage_percent is None
    assert metrics.gpus == []


def test_refused_connection_counts_are_flagged_unavailable() -> None:
    metrics = build_system_metrics(
        host_sample(active_connections=None),
        [],
        CPU_ONLY,
        ModelCounts(),
        host_label="h",
        interval_seconds=5.0,
    )
    assert metrics.active_connections == 0
    assert not metrics.active_connections_available


def test_gpu_summary_is_the_mean_utilisation_and_summed_memory_of_healthy_gpus() -> None:
    gpus = [
        GpuSample(
            index=0, utilization_percent=90, memory_used_bytes=8 * GIB, memory_total_bytes=24 * GIB
        ),
        GpuSample(
            index=1, utilization_percent=10, memory_used_bytes=2 * GIB, memory_total_bytes=16 * GIB
        ),
        GpuSample(index=2, error="GPU is lost"),
    ]
    summary = summarise_gpus(gpus)
    assert summary.usage_percent == pytest.approx(50.0)
    assert summary.memory_used_gb == pytest.approx(10.0)
    assert summary.memory_total_gb == pytest.approx(40.0)


def test_only_failed_gpus_give_no_summary() -> None:
    summary = summarise_gpus([GpuSample(index=0, error="GPU is lost")])
    assert summary.usage_percent is None
    assert summary.memory_total_gb is None
