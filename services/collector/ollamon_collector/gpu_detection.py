"""Which GPU path this host has, tried in the seed's order, with the reason.

1. NVML: `pynvml` imports, `nvmlInit()` succeeds and reports at least one GPU. Only this
   path gives per-GPU figures.
2. `/proc/driver/nvidia` exists: an NVIDIA driver is loaded but NVML is not usable.
3. `CUDA_VISIBLE_DEVICES` is set (to something other than empty or `-1`, which hide every
   GPU): a CUDA environment without NVML.
4. CPU-only: a normal state, reported once, never retried in a loop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROC_DRIVER_NVIDIA = Path("/proc/driver/nvidia")
CUDA_ENV_VARIABLE = "CUDA_VISIBLE_DEVICES"
HIDDEN_CUDA_VALUES = frozenset({"", "-1"})

NvmlLoader = Callable[[], Any]


class GpuDetectionKind(StrEnum):
    """The detection outcome, as reported in `OllamaSystemMetrics.gpu_detection`."""

    NVML = "nvml"
    PROC_DRIVER = "proc_driver"
    CUDA_ENV = "cuda_env"
    CPU_ONLY = "cpu_only"


@dataclass(frozen=True)
class GpuDetection:
    """The outcome of detection; `nvml` is the initialised module on the NVML path only."""

    kind: GpuDetectionKind
    reason: str
    nvml: Any | None = None
    gpu_count: int = 0


def load_pynvml() -> Any:
    """Import the `pynvml` module of nvidia-ml-py (raises ImportError where it is missing)."""
    import pynvml

    return pynvml


def _try_nvml(load_nvml: NvmlLoader) -> tuple[Any | None, int, str]:
    """Initialise NVML; returns (module or None, GPU count, what happened)."""
    try:
        nvml = load_nvml()
    except ImportError as error:
        return None, 0, f"pynvml not importable ({error})"
    try:
        nvml.nvmlInit()
    except Exception as error:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return None, 0, f"nvmlInit failed ({error})"
    try:
        count = int(nvml.nvmlDeviceGetCount())
    except Exception as error:
        nvml.nvmlShutdown()
        return None, 0, f"nvmlDeviceGetCount failed ({error})"
    if count == 0:
        nvml.nvmlShutdown()
        return None, 0, "NVML reports no GPU"
    return nvml, count, f"NVML initialised with {count} GPU(s)"


def detect_gpu(
    load_nvml: NvmlLoader = load_pynvml,
    proc_driver_path: Path = PROC_DRIVER_NVIDIA,
    environ: Mapping[str, str] | None = None,
) -> GpuDetection:
    """Detect the GPU path of this host (blocking: NVML initialisation can take a second).

    Args:
        load_nvml: returns the pynvml module (tests pass a fake).
        proc_driver_path: the driver's proc folder.
        environ: the environment (os.environ by default).
    """
    env = os.environ if environ is None else environ
    nvml, count, nvml_outcome = _try_nvml(load_nvml)
    if nvml is not None:
        detection = GpuDetection(GpuDetectionKind.NVML, nvml_outcome, nvml=nvml, gpu_count=count)
    elif proc_driver_path.exists():
        detection = GpuDetection(
            GpuDetectionKind.PROC_DRIVER,
            f"{proc_driver_path} exists but {nvml_outcome}: no per-GPU figures",
        )
    elif env.get(CUDA_ENV_VARIABLE, "").strip() not in HIDDEN_CUDA_VALUES:
        detection = GpuDetection(
            GpuDetectionKind.CUDA_ENV,
            f"{CUDA_ENV_VARIABLE}={env[CUDA_ENV_VARIABLE]} but {nvml_outcome}: no per-GPU figures",
        )
    else:
        detection = GpuDetection(
            GpuDetectionKind.CPU_ONLY,
            f"{nvml_outcome}; no {proc_driver_path}; {CUDA_ENV_VARIABLE} unset",
        )
    log.info("GPU detection: %s (%s)", detection.kind.value, detection.reason)
    return detection
