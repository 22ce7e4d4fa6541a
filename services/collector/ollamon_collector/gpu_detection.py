"""Which GPU path this host has, tried in order, with the reason.

1. NVML: `pynvml` imports, `nvmlInit()` succeeds and reports at least one GPU.
2. AMD SMI: `amdsmi` (ROCm's Python package) imports, initialises and reports a GPU.
3. AMD sysfs: the amdgpu driver lists a card with VRAM or busy figures under
   `<sysfs root>/class/drm/card*/device` (no ROCm needed).
   Paths 1-3 give per-GPU figures.
4. `/proc/driver/nvidia` exists: an NVIDIA driver is loaded but NVML is not usable.
5. `CUDA_VISIBLE_DEVICES` is set (to something other than empty or `-1`, which hide every
   GPU): a CUDA environment without NVML.
6. Apple silicon (macOS on arm64): the GPU shares the host's unified memory, reported as
   its memory (psutil's figures, `apple_unified.py`); macOS gives GPU utilisation,
   temperature and power only to root (`powermetrics`), so they are "not available", with
   that reason.
7. CPU-only: a normal state, reported once, never retried in a loop.
"""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ollamon_collector.amd_sysfs import SYSFS_ROOT, drm_folder, find_amd_cards
from ollamon_collector.amdsmi_reader import load_amdsmi, start_amdsmi

log = logging.getLogger(__name__)

PROC_DRIVER_NVIDIA = Path("/proc/driver/nvidia")
CUDA_ENV_VARIABLE = "CUDA_VISIBLE_DEVICES"
HIDDEN_CUDA_VALUES = frozenset({"", "-1"})

NvmlLoader = Callable[[], Any]
AmdSmiLoader = Callable[[], Any]
APPLE_SILICON = ("Darwin", "arm64")


class GpuDetectionKind(StrEnum):
    """The detection outcome, as reported in `OllamaSystemMetrics.gpu_detection`."""

    NVML = "nvml"
    AMDSMI = "amdsmi"
    AMD_SYSFS = "amd_sysfs"
    PROC_DRIVER = "proc_driver"
    CUDA_ENV = "cuda_env"
    APPLE_UNIFIED = "apple_unified"
    CPU_ONLY = "cpu_only"


@dataclass(frozen=True)
class GpuDetection:
    """The outcome of detection: `nvml` and `amdsmi` are the initialised modules on their
    paths only, `amd_cards` the cards' sysfs folders on the sysfs path only."""

    kind: GpuDetectionKind
    reason: str
    nvml: Any | None = None
    gpu_count: int = 0
    amdsmi: Any | None = None
    amdsmi_handles: tuple[Any, ...] = ()
    amd_cards: tuple[Path, ...] = ()


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


def _try_amdsmi(load: AmdSmiLoader) -> tuple[Any | None, list[Any], str]:
    """Initialise AMD SMI; returns (module or None, GPU handles, what happened)."""
    try:
        amdsmi = load()
    except Exception as error:  # ImportError, or the library missing when it loads (OSError)
        return None, [], f"amdsmi not importable ({error})"
    try:
        handles = start_amdsmi(amdsmi)
    except Exception as error:  # AmdSmiLibraryException: driver not loaded, ...
        return None, [], f"amdsmi_init failed ({error})"
    if not handles:
        amdsmi.amdsmi_shut_down()
        return None, [], "AMD SMI reports no GPU"
    return amdsmi, handles, f"AMD SMI initialised with {len(handles)} GPU(s)"


def _apple_silicon(system: str, machine: str) -> bool:
    return (system, machine) == APPLE_SILICON


def detect_gpu(
    load_nvml: NvmlLoader = load_pynvml,
    proc_driver_path: Path = PROC_DRIVER_NVIDIA,
    environ: Mapping[str, str] | None = None,
    *,
    load_amd: AmdSmiLoader = load_amdsmi,
    sysfs_root: Path = SYSFS_ROOT,
    system: tuple[str, str] | None = None,
) -> GpuDetection:
    """Detect the GPU path of this host (blocking: NVML initialisation can take a second).

    Args:
        load_nvml: returns the pynvml module (tests pass a fake).
        proc_driver_path: the driver's proc folder.
        environ: the environment (os.environ by default).
        load_amd: returns the amdsmi module (tests pass a fake).
        sysfs_root: where sysfs is mounted (tests pass a tree of their own).
        system: (OS, machine) as `platform` names them (this host's by default).
    """
    env = os.environ if environ is None else environ
    os_name, machine = system or (platform.system(), platform.machine())
    nvml, count, nvml_outcome = _try_nvml(load_nvml)
    if nvml is not None:
        detection = GpuDetection(GpuDetectionKind.NVML, nvml_outcome, nvml=nvml, gpu_count=count)
        log.info("GPU detection: %s (%s)", detection.kind.value, detection.reason)
        return detection
    amdsmi, handles, amd_outcome = _try_amdsmi(load_amd)
    cards = () if amdsmi is not None else tuple(find_amd_cards(sysfs_root))
    if amdsmi is not None:
        detection = GpuDetection(
            GpuDetectionKind.AMDSMI,
            f"{nvml_outcome}; {amd_outcome}",
            gpu_count=len(handles),
            amdsmi=amdsmi,
            amdsmi_handles=tuple(handles),
        )
    elif cards:
        detection = GpuDetection(
            GpuDetectionKind.AMD_SYSFS,
            f"{nvml_outcome}; {amd_outcome}; amdgpu sysfs lists {len(cards)} card(s) under "
            f"{drm_folder(sysfs_root)}: no per-process figures",
            gpu_count=len(cards),
            amd_cards=cards,
        )
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
    elif _apple_silicon(os_name, machine):
        detection = GpuDetection(
            GpuDetectionKind.APPLE_UNIFIED,
            "Apple silicon: the GPU shares the host's unified memory (its memory figures are "
            "psutil's for the whole machine); GPU utilisation, temperature and power not "
            "available (macOS gives them only to root, through powermetrics)",
        )
    else:
        detection = GpuDetection(
            GpuDetectionKind.CPU_ONLY,
            f"{nvml_outcome}; {amd_outcome}; no AMD card under {drm_folder(sysfs_root)}; "
            f"no {proc_driver_path}; {CUDA_ENV_VARIABLE} unset",
        )
    log.info("GPU detection: %s (%s)", detection.kind.value, detection.reason)
    return detection
