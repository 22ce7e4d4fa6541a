"""One full system sample: the host, the GPUs (NVML, AMD SMI or amdgpu sysfs, where there)
and the model counts."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Protocol

from ollamon_collector.amd_sysfs import AmdSysfsReader
from ollamon_collector.amdsmi_reader import AmdSmiReader, load_amdsmi
from ollamon_collector.apple_unified import UnifiedMemoryReader
from ollamon_collector.connections import TcpConnectionCounter
from ollamon_collector.gpu_detection import (
    PROC_DRIVER_NVIDIA,
    AmdSmiLoader,
    GpuDetection,
    GpuDetectionKind,
    NvmlLoader,
    detect_gpu,
    load_pynvml,
)
from ollamon_collector.host import HostSampler, existing_ancestor, ollama_models_folder
from ollamon_collector.metrics import build_system_metrics
from ollamon_collector.models_state import ModelCounts
from ollamon_collector.nvml_reader import NvmlReader
from ollamon_collector.ollama_processes import OllamaProcessTracker
from ollamon_collector.settings import CollectorSettings
from ollamon_core.events import GpuSample, OllamaSystemMetrics


class GpuReader(Protocol):
    """What the sampler needs of a GPU path: one sample per GPU, and a release at the end."""

    def read(self, ollama_pids: Collection[int] = ()) -> list[GpuSample]: ...

    def close(self) -> None: ...


def gpu_reader_for(detection: GpuDetection) -> GpuReader | None:
    """The reader of the path detection chose; None where it gives no per-GPU figures."""
    if detection.nvml is not None:
        return NvmlReader(detection.nvml, detection.gpu_count)
    if detection.amdsmi is not None:
        return AmdSmiReader(detection.amdsmi, list(detection.amdsmi_handles))
    if detection.amd_cards:
        return AmdSysfsReader(list(detection.amd_cards))
    if detection.kind is GpuDetectionKind.APPLE_UNIFIED:
        return UnifiedMemoryReader()
    return None


class SystemSampler:
    """Takes complete samples (blocking: call it off the event loop).

    Args:
        host: the host sampler.
        detection: the GPU detection outcome.
        gpu_reader: the GPU reader, on a path with per-GPU figures only.
    """

    def __init__(
        self, host: HostSampler, detection: GpuDetection, gpu_reader: GpuReader | None
    ) -> None:
        self.host = host
        self.detection = detection
        self.gpu_reader = gpu_reader

    def sample(
        self, models: ModelCounts, *, host_label: str, interval_seconds: float
    ) -> OllamaSystemMetrics:
        """Read everything now and build the event."""
        host = self.host.sample()
        gpus = (
            self.gpu_reader.read(self.host.ollama_processes.pids())
            if self.gpu_reader is not None
            else []
        )
        return build_system_metrics(
            host,
            gpus,
            self.detection,
            models,
            host_label=host_label,
            interval_seconds=interval_seconds,
        )

    def close(self) -> None:
        """Release NVML or AMD SMI."""
        if self.gpu_reader is not None:
            self.gpu_reader.close()


def build_system_sampler(
    settings: CollectorSettings,
    *,
    load_nvml: NvmlLoader = load_pynvml,
    proc_driver_path: Path = PROC_DRIVER_NVIDIA,
    environ: Mapping[str, str] | None = None,
    load_amd: AmdSmiLoader = load_amdsmi,
) -> SystemSampler:
    """Detect the GPU path and prepare every reader (blocking: NVML init, psutil priming)."""
    detection = detect_gpu(
        load_nvml, proc_driver_path, environ, load_amd=load_amd, sysfs_root=settings.sysfs_root
    )
    reader = gpu_reader_for(detection)
    models = settings.ollama_models_path or ollama_models_folder(
        os.environ if environ is None else environ
    )
    host = HostSampler(
        settings.storage_path,
        TcpConnectionCounter(
            fallback_interval_seconds=settings.connections_fallback_interval_seconds
        ),
        OllamaProcessTracker(settings.process_rescan_interval_seconds),
        disk_paths=[existing_ancestor(models)] if models is not None else [],
    )
    return SystemSampler(host, detection, reader)
