"""Reading AMD GPUs through AMD SMI, with the fake amdsmi module standing in for ROCm."""

from __future__ import annotations

import pytest

from ollamon_collector.amdsmi_reader import (
    AmdSmiReader,
    number,
    power_limit_watts,
    start_amdsmi,
)
from tests.services.collector.fake_amdsmi import (
    NOT_AVAILABLE,
    AmdSmiInitFlags,
    FakeAmdGpu,
    FakeAmdSmi,
    amd_process,
)

GIB = 1024**3


def reader_of(*gpus: FakeAmdGpu) -> tuple[FakeAmdSmi, AmdSmiReader]:
    fake = FakeAmdSmi(list(gpus))
    return fake, AmdSmiReader(fake, start_amdsmi(fake), name_of_process=str)


def test_amd_smi_is_initialised_for_gpus_only() -> None:
    fake = FakeAmdSmi([FakeAmdGpu()])
    assert len(start_amdsmi(fake)) == 1
    assert fake.init_flags == AmdSmiInitFlags.INIT_AMD_GPUS


def test_each_gpu_reports_the_fields_nvml_gives() -> None:
    _, reader = reader_of(
        FakeAmdGpu(),
        FakeAmdGpu(market_name="AMD Instinct MI300X", uuid="mi-1", gfx_activity=99),
    )
    first, second = reader.read()
    assert (first.index, first.name, first.uuid) == (
        0,
        "AMD Radeon RX 7900 XTX",
        "a3ff744c-0000-1000-80b6-d27e4bd1c0af",
    )
    assert first.utilization_percent == 40.0
    assert first.memory_used_bytes == 6 * GIB  # AMD SMI answers MiB
    assert first.memory_total_bytes == 24 * GIB
    assert first.temperature_celsius == 55.0
    assert first.power_draw_watts == 210.0
    assert first.power_limit_watts == 327.0
    assert first.error is None
    assert (second.index, second.name, second.utilization_percent) == (
        1,
        "AMD Instinct MI300X",
        99.0,
    )


def test_a_card_without_an_edge_sensor_reports_its_hotspot() -> None:
    _, reader = reader_of(FakeAmdGpu(edge_celsius=None, hotspot_celsius=81))
    assert reader.read()[0].temperature_celsius == 81.0


def test_figures_a_card_does_not_report_leave_only_their_field_empty() -> None:
    _, reader = reader_of(
        FakeAmdGpu(
            gfx_activity=NOT_AVAILABLE,
            edge_celsius=None,
            hotspot_celsius=None,
            socket_power_watts=None,
        )
    )
    sample = reader.read()[0]
    assert sample.error is None
    assert sample.utilization_percent is None
    assert sample.temperature_celsius is None
    assert sample.power_draw_watts is None
    assert sample.memory_total_bytes == 24 * GIB


def test_an_average_power_stands_in_where_the_current_one_is_not_available() -> None:
    _, reader = reader_of(FakeAmdGpu(socket_power_watts=NOT_AVAILABLE))
    assert reader.read()[0].power_draw_watts == 190.0


def test_processes_holding_vram_are_attributed_to_ollama_by_pid() -> None:
    gpu = FakeAmdGpu(
        processes=[amd_process(4242, "ollama", 5 * GIB), amd_process(77, "python3", GIB)]
    )
    _, reader = reader_of(gpu)
    processes = {process.pid: process for process in reader.read(ollama_pids={4242})[0].processes}
    assert processes[4242].is_ollama
    assert processes[4242].name == "ollama"
    assert processes[4242].gpu_memory_used_bytes == 5 * GIB
    assert not processes[77].is_ollama
    assert processes[77].gpu_memory_used_bytes == GIB


def test_a_gpu_that_fails_mid_run_gets_an_error_sample_and_the_others_are_still_read() -> None:
    fake, reader = reader_of(FakeAmdGpu(), FakeAmdGpu(market_name="second"))
    fake.gpus[0].lost = True
    lost, healthy = reader.read()
    assert lost.error is not None and "AMDSMI_STATUS_AMDGPU_RESTART_ERR" in lost.error
    assert lost.utilization_percent is None
    assert healthy.error is None
    assert healthy.name == "second"


def test_close_shuts_amd_smi_down() -> None:
    fake, reader = reader_of(FakeAmdGpu())
    reader.close()
    assert fake.shutdown_calls == 1


@pytest.mark.parametrize(
    ("value", "expected"), [(12, 12.0), ("7", 7.0), (NOT_AVAILABLE, None), (None, None)]
)
def test_only_numbers_are_figures(value: object, expected: float | None) -> None:
    assert number(value) == expected


@pytest.mark.parametrize(
    ("reported", "watts"), [(327, 327.0), (300_000_000, 300.0), (0, None), (NOT_AVAILABLE, None)]
)
def test_the_power_limit_is_in_watts_whichever_unit_the_release_reports(
    reported: object, watts: float | None
) -> None:
    assert power_limit_watts(reported) == watts


def test_rocm_7s_socket_power_is_read_first() -> None:
    fake, reader = reader_of(FakeAmdGpu(socket_power_watts=NOT_AVAILABLE))
    fake.rocm7_socket_power = 44
    assert reader.read()[0].power_draw_watts == 44.0
