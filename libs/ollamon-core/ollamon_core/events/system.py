"""Host and GPU samples (published by the collector)."""

from __future__ import annotations

from pydantic import Field

from ollamon_core.events.base import Event, FrozenModel


class GpuProcessSample(FrozenModel):
    """A process holding GPU memory."""

    pid: int
    name: str = ""
    gpu_memory_used_bytes: int | None = None
    is_ollama: bool = False


class GpuSample(FrozenModel):
    """One GPU at one moment (NVML, AMD SMI, amdgpu sysfs, or Apple silicon's unified memory)."""

    index: int
    name: str = ""
    uuid: str = ""
    utilization_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperature_celsius: float | None = None
    power_draw_watts: float | None = None
    power_limit_watts: float | None = None
    throttle_reasons: list[str] = Field(default_factory=list)
    processes: list[GpuProcessSample] = Field(default_factory=list)
    error: str | None = None


class DiskUsageSample(FrozenModel):
    """A mounted filesystem's use: `total_bytes` is what users may fill (used + free, the
    root reserve left out, as `df` counts)."""

    mount: str = Field(min_length=1, max_length=4096)
    used_bytes: int = Field(ge=0)
    total_bytes: int = Field(ge=0)


class OllamaProcessSample(FrozenModel):
    """An Ollama server or runner process found on the host."""

    pid: int
    role: str = Field(description="'server' or 'runner'")
    cpu_percent: float = 0.0
    rss_bytes: int = 0


class OllamaSystemMetrics(Event):
    """The host (and its GPUs) at one moment.

    The first block keeps the field names of the original specification.
    """

    kind: str = Field(default="system", pattern="^system$")
    cpu_usage_percent: float = Field(ge=0)
    memory_usage_percent: float = Field(ge=0, le=100)
    memory_available_gb: float = Field(ge=0)
    disk_usage_percent: float = Field(ge=0, le=100)
    network_io_mbps: float = Field(default=0.0, ge=0)
    active_connections: int = 0
    models_loaded: int = 0
    total_models: int = 0
    gpu_usage_percent: float | None = None
    gpu_memory_used_gb: float | None = None
    gpu_memory_total_gb: float | None = None

    # Beyond the specification.
    cpu_per_core_percent: list[float] = Field(default_factory=list)
    load_average_1m: float | None = None
    load_average_5m: float | None = None
    load_average_15m: float | None = None
    memory_used_gb: float | None = None
    memory_total_gb: float | None = None
    swap_usage_percent: float | None = None
    swap_used_gb: float | None = None
    storage_disk_usage_percent: float | None = None
    disks: list[DiskUsageSample] = Field(
        default_factory=list, max_length=16, description="root's and storage's filesystems"
    )
    disk_read_mbps: float | None = None
    disk_write_mbps: float | None = None
    network_rx_mbps: float | None = None
    network_tx_mbps: float | None = None
    active_connections_available: bool = True
    process_count: int | None = None
    ollama_processes: list[OllamaProcessSample] = Field(default_factory=list)
    gpu_detection: str = Field(
        default="cpu_only",
        description="nvml | amdsmi | amd_sysfs | proc_driver | cuda_env | apple_unified | cpu_only",
    )
    gpu_detection_reason: str = ""
    gpus: list[GpuSample] = Field(default_factory=list)
    interval_seconds: float | None = None
