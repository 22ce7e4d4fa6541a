"""Reading AMD cards from amdgpu's sysfs files, in a fake sysfs tree under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from ollamon_collector.amd_sysfs import AmdSysfsReader, find_amd_cards
from tests.services.collector.fake_sysfs import SysfsCard, write_card

GIB = 1024**3


def test_only_amd_cards_with_figures_are_found_in_card_order(tmp_path: Path) -> None:
    second = write_card(tmp_path, 1, SysfsCard())
    first = write_card(tmp_path, 0, SysfsCard())
    write_card(tmp_path, 2, SysfsCard(vendor="0x8086"))  # an Intel iGPU beside them
    write_card(
        tmp_path, 3, SysfsCard(busy_percent=None, vram_used_bytes=None, vram_total_bytes=None)
    )
    assert find_amd_cards(tmp_path) == [first, second]


def test_a_missing_drm_folder_finds_no_card(tmp_path: Path) -> None:
    assert find_amd_cards(tmp_path / "nothing") == []


def test_a_card_reports_utilisation_vram_temperature_and_power(tmp_path: Path) -> None:
    reader = AmdSysfsReader([write_card(tmp_path, 0, SysfsCard())])
    (sample,) = reader.read(ollama_pids={1})
    assert sample.index == 0
    assert sample.name == "AMD Radeon RX 7900 XTX"
    assert sample.utilization_percent == 63.0
    assert sample.memory_used_bytes == 5 * GIB
    assert sample.memory_total_bytes == 24 * GIB
    assert sample.temperature_celsius == 48.0  # millidegrees in sysfs
    assert sample.power_draw_watts == 95.0  # microwatts in sysfs
    assert sample.power_limit_watts == 327.0
    assert sample.processes == []  # sysfs lists no processes
    assert sample.error is None


def test_figures_follow_the_files_at_each_read(tmp_path: Path) -> None:
    device = write_card(tmp_path, 0, SysfsCard())
    reader = AmdSysfsReader([device])
    (device / "gpu_busy_percent").write_text("5\n")
    assert reader.read()[0].utilization_percent == 5.0


def test_newer_kernels_power1_input_is_read_where_there_is_no_average(tmp_path: Path) -> None:
    card = SysfsCard(power_average_microwatts=None, power_input_microwatts=120_500_000)
    (sample,) = AmdSysfsReader([write_card(tmp_path, 0, card)]).read()
    assert sample.power_draw_watts == pytest.approx(120.5)


def test_files_a_card_lacks_leave_only_their_field_empty(tmp_path: Path) -> None:
    card = SysfsCard(
        product_name=None,
        temperature_millicelsius=None,
        power_average_microwatts=None,
        power_cap_microwatts=None,
    )
    (sample,) = AmdSysfsReader([write_card(tmp_path, 0, card)]).read()
    assert sample.name == "AMD GPU 0x744c"
    assert sample.temperature_celsius is None
    assert sample.power_draw_watts is None
    assert sample.power_limit_watts is None
    assert sample.utilization_percent == 63.0


def test_a_card_that_went_away_gets_an_error_sample(tmp_path: Path) -> None:
    device = write_card(tmp_path, 0, SysfsCard())
    reader = AmdSysfsReader([device])
    for name in ("gpu_busy_percent", "mem_info_vram_used", "mem_info_vram_total"):
        (device / name).unlink()
    (sample,) = reader.read()
    assert sample.error is not None and "no readable figures" in sample.error
