"""A small fake of the `pynvml` module: several GPUs, errors on demand, no driver needed.

Pass an instance where the collector takes the pynvml module. Only the functions the
collector calls exist (a test checks each one also exists in the real pynvml). A GPU with
`lost = True` fails every call the way a GPU that fell off the bus does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_GPU_IS_LOST = 15

_ERROR_TEXT = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
}


class NVMLError(Exception):
    """Like pynvml.NVMLError: carries an NVML return code, prints its text."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _ERROR_TEXT.get(self.value, f"NVML error {self.value}")


@dataclass
class FakeGpu:
    """One GPU's readings; None for power or temperature means 'not supported'."""

    name: str = "NVIDIA Fake 24GB"
    uuid: str = "GPU-fake-0"
    utilization_percent: int = 50
    memory_used_bytes: int = 8 * 1024**3
    memory_total_bytes: int = 24 * 1024**3
    temperature_celsius: int | None = 60
    power_draw_milliwatts: int | None = 150_000
    power_limit_milliwatts: int | None = 300_000
    throttle_mask: int = 0
    compute_processes: dict[int, int | None] = field(default_factory=dict)
    graphics_processes: dict[int, int | None] = field(default_factory=dict)
    lost: bool = False


class FakeNvml:
    """Stands in for the pynvml module.

    Args:
        gpus: the GPUs, by index.
        init_error: an NVML return code `nvmlInit` fails with (None: it succeeds).
    """

    NVMLError = NVMLError
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, gpus: list[FakeGpu], init_error: int | None = None) -> None:
        self.gpus = gpus
        self.init_error = init_error
        self.initialised = False
        self.shutdown_calls = 0

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.shutdown_calls += 1
        self.initialised = False

    def nvmlDeviceGetCount(self) -> int:
        self._require_init()
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self._alive(self.gpus[index])

    def nvmlDeviceGetName(self, handle: FakeGpu) -> str:
        return self._alive(handle).name

    def nvmlDeviceGetUUID(self, handle: FakeGpu) -> str:
        return self._alive(handle).uuid

    def nvmlDeviceGetMemoryInfo(self, handle: FakeGpu) -> SimpleNamespace:
        gpu = self._alive(handle)
        return SimpleNamespace(
            total=gpu.memory_total_bytes,
            used=gpu.memory_used_bytes,
            free=gpu.memory_total_bytes - gpu.memory_used_bytes,
        )

    def nvmlDeviceGetUtilizationRates(self, handle: FakeGpu) -> SimpleNamespace:
        return SimpleNamespace(gpu=self._alive(handle).utilization_percent, memory=0)

    def nvmlDeviceGetTemperature(self, handle: FakeGpu, sensor: int) -> int:
        return self._supported(self._alive(handle).temperature_celsius)

    def nvmlDeviceGetPowerUsage(self, handle: FakeGpu) -> int:
        return self._supported(self._alive(handle).power_draw_milliwatts)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: FakeGpu) -> int:
        return self._supported(self._alive(handle).power_limit_milliwatts)

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: FakeGpu) -> int:
        return self._alive(handle).throttle_mask

    def nvmlDeviceGetComputeRunningProcesses(self, handle: FakeGpu) -> list[SimpleNamespace]:
        return _process_infos(self._alive(handle).compute_processes)

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: FakeGpu) -> list[SimpleNamespace]:
        return _process_infos(self._alive(handle).graphics_processes)

    def _require_init(self) -> None:
        if not self.initialised:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def _alive(self, gpu: FakeGpu) -> FakeGpu:
        self._require_init()
        if gpu.lost:
            raise NVMLError(NVML_ERROR_GPU_IS_LOST)
        return gpu

    @staticmethod
    def _supported(value: int | None) -> int:
        if value is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return value


def _process_infos(processes: dict[int, int | None]) -> list[SimpleNamespace]:
    return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in processes.items()]


def two_gpu_nvml() -> FakeNvml:
    """A fake with two different GPUs, both healthy."""
    return FakeNvml(
        [
            FakeGpu(name="NVIDIA Fake A", uuid="GPU-a", utilization_percent=90),
            FakeGpu(
                name="NVIDIA Fake B",
                uuid="GPU-b",
                utilization_percent=10,
                memory_used_bytes=2 * 1024**3,
                memory_total_bytes=16 * 1024**3,
            ),
        ]
    )
