"""GPU detection in the seed's order, each outcome with its reason."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from ollamon_collector.gpu_detection import GpuDetectionKind, detect_gpu
from tests.services.collector.fake_nvml import (
    NVML_ERROR_LIBRARY_NOT_FOUND,
    FakeGpu,
    FakeNvml,
    two_gpu_nvml,
)


def missing_pynvml() -> Any:
    raise ImportError("No module named 'pynvml'")


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
    detection = detect_gpu(lambda: fake, no_driver_folder, {})
    assert detection.kind is GpuDetectionKind.NVML
    assert detection.nvml is fake
    assert detection.gpu_count == 2
    assert "2 GPU" in detection.reason


def test_a_driver_folder_without_working_nvml_is_reported_with_the_nvml_error(
    driver_folder: Path,
) -> None:
    fake = FakeNvml([FakeGpu()], init_error=NVML_ERROR_LIBRARY_NOT_FOUND)
    detection = detect_gpu(lambda: fake, driver_folder, {"CUDA_VISIBLE_DEVICES": "0"})
    assert detection.kind is GpuDetectionKind.PROC_DRIVER
    assert detection.nvml is None
    assert "NVML Shared Library Not Found" in detection.reason


def test_cuda_visible_devices_without_nvml_or_driver_is_a_cuda_environment(
    no_driver_folder: Path,
) -> None:
    detection = detect_gpu(missing_pynvml, no_driver_folder, {"CUDA_VISIBLE_DEVICES": "0,1"})
    assert detection.kind is GpuDetectionKind.CUDA_ENV
    assert "CUDA_VISIBLE_DEVICES=0,1" in detection.reason
    assert "pynvml not importable" in detection.reason


@pytest.mark.parametrize(
    "environ", [{}, {"CUDA_VISIBLE_DEVICES": ""}, {"CUDA_VISIBLE_DEVICES": "-1"}]
)
def test_nothing_found_is_cpu_only_with_every_reason(
    no_driver_folder: Path, environ: dict[str, str]
) -> None:
    detection = detect_gpu(missing_pynvml, no_driver_folder, environ)
    assert detection.kind is GpuDetectionKind.CPU_ONLY
    assert "pynvml not importable" in detection.reason
    assert str(no_driver_folder) in detection.reason


def test_nvml_with_no_gpu_falls_through_and_is_shut_down(no_driver_folder: Path) -> None:
    fake = FakeNvml([])
    detection = detect_gpu(lambda: fake, no_driver_folder, {})
    assert detection.kind is GpuDetectionKind.CPU_ONLY
    assert "no GPU" in detection.reason
    assert fake.shutdown_calls == 1


def test_cpu_only_is_logged_once_at_info_not_as_an_error(
    no_driver_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="ollamon_collector"):
        detect_gpu(missing_pynvml, no_driver_folder, {})
    records = [record for record in caplog.records if record.name.startswith("ollamon_collector")]
    assert [record.levelno for record in records] == [logging.INFO]
    assert "cpu_only" in records[0].getMessage()
