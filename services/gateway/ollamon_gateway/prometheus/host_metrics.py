"""Host and GPU gauges, from the collector's `OllamaSystemMetrics` (the latest sample wins)."""

from __future__ import annotations

from ollamon_core.events import OllamaSystemMetrics
from ollamon_gateway.prometheus.families import GPU, Families

GIB = 1024**3
MEGA = 1_000_000
BITS_PER_BYTE = 8


def ratio(percent: float | None) -> float | None:
    """A percent as a 0-1 ratio."""
    return None if percent is None else percent / 100


def gib(value: float | None) -> float | None:
    """GiB as bytes."""
    return None if value is None else value * GIB


def network(mbps: float | None) -> float | None:
    """Megabits/s as bytes/s."""
    return None if mbps is None else mbps * MEGA / BITS_PER_BYTE


def disk(mbps: float | None) -> float | None:
    """Megabytes/s as bytes/s."""
    return None if mbps is None else mbps * MEGA


class HostMetrics:
    """The host and GPU families.

    Args:
        families: makes the families in the exporter's registry.
    """

    def __init__(self, families: Families) -> None:
        host = ("host",)
        self.host_gauges = {
            name: families.gauge(f"ollamon_host_{name}", text, host)
            for name, text in (
                ("cpu_usage_ratio", "CPU in use, all cores (0-1)"),
                ("memory_usage_ratio", "Memory in use (0-1)"),
                ("memory_used_bytes", "Memory in use"),
                ("memory_available_bytes", "Memory available"),
                ("memory_total_bytes", "Memory installed"),
                ("swap_usage_ratio", "Swap in use (0-1)"),
                ("swap_used_bytes", "Swap in use"),
                ("load1", "Load average over 1 minute"),
                ("load5", "Load average over 5 minutes"),
                ("load15", "Load average over 15 minutes"),
                ("network_receive_bytes_per_second", "Network received, all interfaces"),
                ("network_transmit_bytes_per_second", "Network sent, all interfaces"),
                ("disk_read_bytes_per_second", "Disk read, all disks"),
                ("disk_write_bytes_per_second", "Disk written, all disks"),
            )
        }
        self.disk = families.gauge(
            "ollamon_host_disk_usage_ratio",
            "Disk in use (0-1): mount root (/) or storage (ollamon's storage path)",
            ("host", "mount"),
        )
        self.gpu_gauges = {
            name: families.gauge(f"ollamon_gpu_{name}", text, GPU)
            for name, text in (
                ("utilization_ratio", "GPU utilisation (0-1)"),
                ("memory_used_bytes", "GPU memory in use"),
                ("memory_total_bytes", "GPU memory installed"),
                ("temperature_celsius", "GPU temperature"),
                ("power_draw_watts", "GPU power draw"),
                ("power_limit_watts", "GPU power limit"),
            )
        }
        self.gpu_info = families.gauge(
            "ollamon_gpu_info", "A GPU's name and UUID (always 1)", (*GPU, "name", "uuid")
        )

    def observe(self, event: OllamaSystemMetrics) -> None:
        """Set every gauge the sample has a figure for."""
        host = event.host
        values: dict[str, float | None] = {
            "cpu_usage_ratio": ratio(event.cpu_usage_percent),
            "memory_usage_ratio": ratio(event.memory_usage_percent),
            "memory_used_bytes": gib(event.memory_used_gb),
            "memory_available_bytes": gib(event.memory_available_gb),
            "memory_total_bytes": gib(event.memory_total_gb),
            "swap_usage_ratio": ratio(event.swap_usage_percent),
            "swap_used_bytes": gib(event.swap_used_gb),
            "load1": event.load_average_1m,
            "load5": event.load_average_5m,
            "load15": event.load_average_15m,
            "network_receive_bytes_per_second": network(event.network_rx_mbps),
            "network_transmit_bytes_per_second": network(event.network_tx_mbps),
            "disk_read_bytes_per_second": disk(event.disk_read_mbps),
            "disk_write_bytes_per_second": disk(event.disk_write_mbps),
        }
        for name, value in values.items():
            if value is not None:
                self.host_gauges[name].labels(host).set(value)
        self.disk.labels(host, "root").set(event.disk_usage_percent / 100)
        if event.storage_disk_usage_percent is not None:
            self.disk.labels(host, "storage").set(event.storage_disk_usage_percent / 100)
        self._observe_gpus(event)

    def _observe_gpus(self, event: OllamaSystemMetrics) -> None:
        for gpu in event.gpus:
            gpu_values: dict[str, float | None] = {
                "utilization_ratio": ratio(gpu.utilization_percent),
                "memory_used_bytes": gpu.memory_used_bytes,
                "memory_total_bytes": gpu.memory_total_bytes,
                "temperature_celsius": gpu.temperature_celsius,
                "power_draw_watts": gpu.power_draw_watts,
                "power_limit_watts": gpu.power_limit_watts,
            }
            index = str(gpu.index)
            for name, value in gpu_values.items():
                if value is not None:
                    self.gpu_gauges[name].labels(event.host, index).set(value)
            self.gpu_info.labels(event.host, index, gpu.name, gpu.uuid).set(1)
