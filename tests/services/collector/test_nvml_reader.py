"""Reading GPUs through NVML, with the fake pynvml standing in for the driver."""

from __future__ import annotations

import pynvml
import pytest

from ollamon_collector.nvml_reader import NvmlReader, decode_throttle_reasons
from tests.services.collector.fake_nvml import FakeGpu, FakeNvml, two_gpu_nvml

GIB = 1024**3


def started(fake: FakeNvml) -> FakeNvml:
    fake.nvmlInit()
    return fake


def test_every_function_of_the_fake_exists_in_the_real_pynvml() -> None:
    faked = [name for name in vars(FakeNvml) if name.startswith(("nvml", "NVML"))]
    assert faked
    assert [name for name in faked if not hasattr(pynvml, name)] == []


def test_each_gpu_reports_utilisation_memory_temperature_and_power() -> None:
    samples = NvmlReader(started(two_gpu_nvml()), name_of_process=str).read()
    assert [sample.index for sample in samples] == [0, 1]
    first, second = samples
    assert (first.name, first.uuid) == ("NVIDIA Fake A", "GPU-a")
    assert first.utilization_percent == 90.0
    assert first.memory_used_bytes == 8 * GIB
    assert first.memory_total_bytes == 24 * GIB
    assert first.temperature_celsius == 60.0
    assert first.power_draw_watts == pytest.approx(150.0)
    assert first.power_limit_watts == pytest.approx(300.0)
    assert first.error is None
    assert (second.name, second.utilization_percent) == ("NVIDIA Fake B", 10.0)
    assert second.memory_total_bytes == 16 * GIB


def test_throttle_reason_bits_are_decoded_into_names() -> None:
    assert decode_throttle_reasons(0) == []
    assert decode_throttle_reasons(0x1) == ["gpu_idle"]
    assert decode_throttle_reasons(0x4 | 0x40) == ["sw_power_cap", "hw_thermal_slowdown"]
    assert decode_throttle_reasons(0x800) == ["unknown_0x800"]


def test_throttle_reasons_are_read_per_gpu() -> None:
    fake = started(FakeNvml([FakeGpu(throttle_mask=0x4 | 0x20), FakeGpu(throttle_mask=0)]))
    samples = NvmlReader(fake, name_of_process=str).read()
    assert samples[0].throttle_reasons == ["sw_power_cap", "sw_thermal_slowdown"]
    assert samples[1].throttle_reasons == []


def test_the_newer_clocks_event_reasons_call_is_preferred_where_it_exists() -> None:
    class NewerFakeNvml(FakeNvml):
        def nvmlDeviceGetCurrentClocksEventReasons(self, handle: FakeGpu) -> int:
            return 0x8

    fake = started(NewerFakeNvml([FakeGpu(throttle_mask=0x1)]))
    assert NvmlReader(fake, name_of_process=str).read()[0].throttle_reasons == ["hw_slowdown"]


def test_gpu_processes_are_attributed_to_ollama_by_pid_and_others_flagged() -> None:
    gpu = FakeGpu(
        compute_processes={4242: 6 * GIB, 777: 1 * GIB},
        graphics_processes={777: 2 * GIB, 900: None},
    )
    names = {4242: "ollama", 777: "python3", 900: "Xorg"}
    reader = NvmlReader(started(FakeNvml([gpu])), name_of_process=names.__getitem__)
    processes = {process.pid: process for process in reader.read(ollama_pids={4242})[0].processes}
    assert processes[4242].is_ollama
    assert processes[4242].gpu_memory_used_bytes == 6 * GIB
    assert processes[4242].name == "ollama"
    assert not processes[777].is_ollama
    assert processes[777].gpu_memory_used_bytes == 2 * GIB  # listed twice: the larger figure
    assert processes[900].gpu_memory_used_bytes is None
    assert processes[900].name == "Xorg"


def test_a_gpu_that_errors_mid_run_gets_an_error_sample_and_the_others_are_still_read() -> None:
    fake = started(two_gpu_nvml())
    reader = NvmlReader(fake, name_of_process=str)
    assert all(sample.error is None for sample in reader.read())
    fake.gpus[0].lost = True
    lost, healthy = reader.read()
    assert lost.error == "GPU is lost"
    assert lost.name == "NVIDIA Fake A"  # known from earlier reads
    assert lost.utilization_percent is None
    assert healthy.error is None
    assert healthy.utilization_percent == 10.0
    fake.gpus[0].lost = False
    assert reader.read()[0].error is None


def test_unsupported_optional_readings_leave_only_their_field_empty() -> None:
    gpu = FakeGpu(temperature_celsius=None, power_draw_milliwatts=None, power_limit_milliwatts=None)
    sample = NvmlReader(started(FakeNvml([gpu])), name_of_process=str).read()[0]
    assert sample.error is None
    assert sample.temperature_celsius is None
    assert sample.power_draw_watts is None
    assert sample.power_limit_watts is None
    assert sample.utilization_percent == 50.0


def test_process_names_are_looked_up_once_while_the_process_holds_memory() -> None:
    lookups: list[int] = []

    def name_of(pid: int) -> str:
        lookups.append(pid)
        return f"p{pid}"

    gpu = FakeGpu(compute_processes={10: GIB})
    reader = NvmlReader(started(FakeNvml([gpu])), name_of_process=name_of)
    reader.read()
    reader.read()
    assert lookups == [10]
    gpu.compute_processes = {}
    reader.read()
    gpu.compute_processes = {10: GIB}  # the PID came back: maybe another process
    reader.read()
    assert lookups == [10, 10]


def test_close_shuts_nvml_down() -> None:
    fake = started(two_gpu_nvml())
    NvmlReader(fake).close()
    assert fake.shutdown_calls == 1
