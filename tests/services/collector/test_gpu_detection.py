"""GPU detection in order (NVML, AMD SMI, amdgpu sysfs, NVIDIA driver, CUDA, Apple silicon,
CPU-only), each outcome with its reason."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import psutil
import pytest

from ollamon_collector.apple_unified import UNIFIED_MEMORY_GPU_NAME
from ollamon_collector.gpu_detection import GpuDetection, GpuDetectionKind, detect_gpu
from ollamon_collector.system_sampler import gpu_reader_for
from tests.services.collector.fake_amdsmi import (
    AmdSmiLibraryException,
    FakeAmdGpu,
    FakeAmdSmi,
)
from tests.services.collector.fake_nvml import (
    NVML_ERROR_LIBRARY_NOT_FOUND,
    FakeGpu,
    FakeNvml,
    two_gpu_nvml,
)
from tests.services.collector.fake_sysfs import SysfsCard, write_card

LINUX = ("Linux", "x86_64")
APPLE_SILICON = ("Darwin", "arm64")


def missing_pynvml() -> Any:
    raise ImportError("No module named 'pynvml'")


def missing_amdsmi() -> Any:
    raise ImportError("No module named 'amdsmi'")


def library_missing_amdsmi() -> Any:
    # What importing the amdsmi wheel does without ROCm's libamd_smi.so.
    raise OSError("libamd_smi.so: cannot open shared object file: No such file or directory")


def detect(
    load_nvml: Any,
    proc_driver_path: Path,
    environ: dict[str, str],
    *,
    load_amd: Any = missing_amdsmi,
    sysfs_root: Path | None = None,
    system: tuple[str, str] = LINUX,
) -> GpuDetection:
    """Detection that sees no real amdsmi, sysfs or OS unless the test passes its own."""
    return detect_gpu(
        load_nvml,
        proc_driver_path,
        environ,
        load_amd=load_amd,
        sysfs_root=sysfs_root or proc_driver_path / "no-sys",
        system=system,
    )


@pytest.fixture
def driver_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "driver" / "nvidia"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def no_driver_folder(tmp_path: Path) -> Path:
    return tmp_path / "no-driver"


def test_nvml_that_initialises_wins_and_keeps_the_module(no_driver_folder: Path) -> None:
    fake = two_gpu_nvml()
    detection = detect(lambda: fake, no_driver_folder, {})
    assert detection.kind is GpuDetectionKind.NVML
    assert detection.nvml is fake
    assert detection.gpu_count == 2
    assert "2 GPU" in detection.reason


def test_a_driver_folder_without_working_nvml_is_reported_with_the_nvml_error(
    driver_folder: Path,
) -> None:
    fake = FakeNvml([FakeGpu()], init_error=NVML_ERROR_LIBRARY_NOT_FOUND)
    detection = detect(lambda: fake, driver_folder, {"CUDA_VISIBLE_DEVICES": "0"})
    assert detection.kind is GpuDetectionKind.PROC_DRIVER
    assert detection.nvml is None
    assert "NVML Shared Library Not Found" in detection.reason


def test_cuda_visible_devices_without_nvml_or_driver_is_a_cuda_environment(
    no_driver_folder: Path,
) -> None:
    detection = detect(missing_pynvml, no_driver_folder, {"CUDA_VISIBLE_DEVICES": "0,1"})
    assert detection.kind is GpuDetectionKind.CUDA_ENV
    assert "CUDA_VISIBLE_DEVICES=0,1" in detection.reason
    assert "pynvml not importable" in detection.reason


@pytest.mark.parametrize(
    "environ", [{}, {"CUDA_VISIBLE_DEVICES": ""}, {"CUDA_VISIBLE_DEVICES": "-1"}]
)
def test_nothing_found_is_cpu_only_with_every_reason(
    no_driver_folder: Path, environ: dict[str, str]
) -> None:
    detection = detect(missing_pynvml, no_driver_folder, environ)
    assert detection.kind is GpuDetectionKind.CPU_ONLY
    assert "pynvml not importable" in detection.reason
    assert str(no_driver_folder) in detection.reason


def test_nvml_with_no_gpu_falls_through_and_is_shut_down(no_driver_folder: Path) -> None:
    fake = FakeNvml([])
    detection = detect(lambda: fake, no_driver_folder, {})
    assert detection.kind is GpuDetectionKind.CPU_ONLY
    assert "no GPU" in detection.reason
    assert fake.shutdown_calls == 1


def test_cpu_only_is_logged_once_at_info_not_as_an_error(
    no_driver_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="ollamon_collector"):
        detect(missing_pynvml, no_driver_folder, {})
    records = [record for record in caplog.records if record.name.startswith("ollamon_collector")]
    assert [record.levelno for record in records] == [logging.INFO]
    assert "cpu_only" in records[0].getMessage()


def test_amd_smi_that_initialises_is_next_after_nvml_and_keeps_its_handles(
    no_driver_folder: Path,
) -> None:
    fake = FakeAmdSmi([FakeAmdGpu(), FakeAmdGpu()])
    detection = detect(missing_pynvml, no_driver_folder, {}, load_amd=lambda: fake)
    assert detection.kind is GpuDetectionKind.AMDSMI
    assert detection.amdsmi is fake
    assert detection.gpu_count == 2
    assert "pynvml not importable" in detection.reason
    assert "AMD SMI initialised with 2 GPU(s)" in detection.reason
    reader = gpu_reader_for(detection)
    assert reader is not None
    assert [sample.name for sample in reader.read()] == ["AMD Radeon RX 7900 XTX"] * 2


def test_nvml_wins_over_amd_smi_without_touching_it(no_driver_folder: Path) -> None:
    amd = FakeAmdSmi([FakeAmdGpu()])
    detection = detect(lambda: two_gpu_nvml(), no_driver_folder, {}, load_amd=lambda: amd)
    assert detection.kind is GpuDetectionKind.NVML
    assert amd.init_flags is None


def test_amd_cards_in_sysfs_are_read_where_amd_smi_is_missing(tmp_path: Path) -> None:
    write_card(tmp_path / "sys", 0, SysfsCard())
    detection = detect(
        missing_pynvml,
        tmp_path / "no-driver",
        {},
        load_amd=library_missing_amdsmi,
        sysfs_root=tmp_path / "sys",
    )
    assert detection.kind is GpuDetectionKind.AMD_SYSFS
    assert detection.gpu_count == 1
    assert "libamd_smi.so" in detection.reason
    assert "1 card(s)" in detection.reason
    reader = gpu_reader_for(detection)
    assert reader is not None
    assert reader.read()[0].utilization_percent == 63.0


def test_amd_smi_that_fails_to_initialise_falls_back_to_sysfs_with_its_error(
    tmp_path: Path,
) -> None:
    broken = FakeAmdSmi(
        [FakeAmdGpu()], init_error=AmdSmiLibraryException(8, "AMDSMI_STATUS_INIT_ERROR")
    )
    write_card(tmp_path / "sys", 0, SysfsCard())
    detection = detect(
        missing_pynvml,
        tmp_path / "no-driver",
        {},
        load_amd=lambda: broken,
        sysfs_root=tmp_path / "sys",
    )
    assert detection.kind is GpuDetectionKind.AMD_SYSFS
    assert "amdsmi_init failed" in detection.reason
    assert "AMDSMI_STATUS_INIT_ERROR" in detection.reason


def test_amd_smi_with_no_gpu_is_shut_down_and_falls_through(no_driver_folder: Path) -> None:
    empty = FakeAmdSmi([])
    detection = detect(missing_pynvml, no_driver_folder, {}, load_amd=lambda: empty)
    assert detection.kind is GpuDetectionKind.CPU_ONLY
    assert "AMD SMI reports no GPU" in detection.reason
    assert empty.shutdown_calls == 1


def test_apple_silicon_is_unified_memory_with_gpu_figures_not_available(
    no_driver_folder: Path,
) -> None:
    detection = detect(missing_pynvml, no_driver_folder, {}, system=APPLE_SILICON)
    assert detection.kind is GpuDetectionKind.APPLE_UNIFIED
    assert "unified memory" in detection.reason
    assert "not available" in detection.reason
    assert "powermetrics" in detection.reason
    reader = gpu_reader_for(detection)
    assert reader is not None
    (gpu,) = reader.read()
    assert gpu.name == UNIFIED_MEMORY_GPU_NAME
    assert gpu.memory_total_bytes == psutil.virtual_memory().total
    assert gpu.memory_used_bytes is not None and gpu.memory_used_bytes > 0
    assert (gpu.utilization_percent, gpu.temperature_celsius, gpu.power_draw_watts) == (
        None,
        None,
        None,
    )


def test_an_intel_mac_is_cpu_only(no_driver_folder: Path) -> None:
    detection = detect(missing_pynvml, no_driver_folder, {}, system=("Darwin", "x86_64"))
    assert detection.kind is GpuDetectionKind.CPU_ONLY
