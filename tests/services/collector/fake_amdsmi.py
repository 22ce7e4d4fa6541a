"""A small fake of AMD SMI's `amdsmi` module: several GPUs, "N/A" figures and errors on
demand, no ROCm needed.

Pass an instance where the collector takes the amdsmi module. Only what the collector calls
exists, with the shapes AMD SMI's Python package returns (dicts; VRAM in MiB; power in W;
temperature in degrees Celsius; "N/A" for a figure a card does not report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

MIB = 1024**2
NOT_AVAILABLE = "N/A"


class AmdSmiException(Exception):
    """Like amdsmi.AmdSmiException, the base of the library's errors."""


class AmdSmiLibraryException(AmdSmiException):
    """Like amdsmi.AmdSmiLibraryException: carries a status code, prints its text."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(code)
        self.code = code
        self.text = text

    def __str__(self) -> str:
        return f"Error code:\n\t{self.code} | {self.text}"


NOT_SUPPORTED = AmdSmiLibraryException(2, "AMDSMI_STATUS_NOT_SUPPORTED - Feature not supported")


class AmdSmiInitFlags(IntEnum):
    INIT_ALL_PROCESSORS = 0xFFFFFFFF
    INIT_AMD_GPUS = 1 << 1


class AmdSmiTemperatureType(IntEnum):
    EDGE = 0
    HOTSPOT = 1


class AmdSmiTemperatureMetric(IntEnum):
    CURRENT = 0


@dataclass
class FakeAmdGpu:
    """One GPU's readings; None for temperature or power means 'not supported'."""

    market_name: str = "AMD Radeon RX 7900 XTX"
    uuid: str = "a3ff744c-0000-1000-80b6-d27e4bd1c0af"
    gfx_activity: int | str = 40
    vram_used_mib: int = 6 * 1024
    vram_total_mib: int = 24 * 1024
    edge_celsius: int | None = 55
    hotspot_celsius: int | None = 70
    socket_power_watts: int | str | None = 210
    power_limit_watts: int | str = 327
    processes: list[dict[str, Any]] = field(default_factory=list)
    lost: bool = False


class FakeAmdSmi:
    """Stands in for the amdsmi module.

    Args:
        gpus: the GPUs, by index.
        init_error: an exception `amdsmi_init` raises (None: it succeeds).
    """

    AmdSmiException = AmdSmiException
    AmdSmiLibraryException = AmdSmiLibraryException
    AmdSmiInitFlags = AmdSmiInitFlags
    AmdSmiTemperatureType = AmdSmiTemperatureType
    AmdSmiTemperatureMetric = AmdSmiTemperatureMetric

    def __init__(self, gpus: list[FakeAmdGpu], init_error: Exception | None = None) -> None:
        self.gpus = gpus
        self.init_error = init_error
        self.init_flags: int | None = None
        self.shutdown_calls = 0
        self.rocm7_socket_power: int | None = None  # ROCm 7.0 added `socket_power`

    def amdsmi_init(self, flag: int = AmdSmiInitFlags.INIT_AMD_GPUS) -> None:
        if self.init_error is not None:
            raise self.init_error
        self.init_flags = flag

    def amdsmi_shut_down(self) -> None:
        self.shutdown_calls += 1

    def amdsmi_get_processor_handles(self) -> list[FakeAmdGpu]:
        return list(self.gpus)

    def amdsmi_get_gpu_asic_info(self, handle: FakeAmdGpu) -> dict[str, Any]:
        return {"market_name": self._alive(handle).market_name, "vendor_id": "0x1002"}

    def amdsmi_get_gpu_device_uuid(self, handle: FakeAmdGpu) -> str:
        return self._alive(handle).uuid

    def amdsmi_get_gpu_activity(self, handle: FakeAmdGpu) -> dict[str, Any]:
        gpu = self._alive(handle)
        return {"gfx_activity": gpu.gfx_activity, "umc_activity": 5, "mm_activity": NOT_AVAILABLE}

    def amdsmi_get_gpu_vram_usage(self, handle: FakeAmdGpu) -> dict[str, int]:
        gpu = self._alive(handle)
        return {"vram_total": gpu.vram_total_mib, "vram_used": gpu.vram_used_mib}

    def amdsmi_get_temp_metric(self, handle: FakeAmdGpu, sensor: int, metric: int) -> int:
        gpu = self._alive(handle)
        value = gpu.edge_celsius if sensor == AmdSmiTemperatureType.EDGE else gpu.hotspot_celsius
        if value is None:
            raise NOT_SUPPORTED
        return value

    def amdsmi_get_power_info(self, handle: FakeAmdGpu) -> dict[str, Any]:
        gpu = self._alive(handle)
        if gpu.socket_power_watts is None:
            raise NOT_SUPPORTED
        info: dict[str, Any] = {
            "current_socket_power": gpu.socket_power_watts,
            "average_socket_power": 190,
            "power_limit": gpu.power_limit_watts,
        }
        if self.rocm7_socket_power is not None:
            info["socket_power"] = self.rocm7_socket_power
        return info

    def amdsmi_get_gpu_process_list(self, handle: FakeAmdGpu) -> list[dict[str, Any]]:
        return list(self._alive(handle).processes)

    @staticmethod
    def _alive(gpu: FakeAmdGpu) -> FakeAmdGpu:
        if gpu.lost:
            raise AmdSmiLibraryException(41, "AMDSMI_STATUS_AMDGPU_RESTART_ERR - GPU restart")
        return gpu


def amd_process(pid: int, name: str, vram_bytes: int) -> dict[str, Any]:
    """One entry of amdsmi_get_gpu_process_list, as AMD SMI 6.x returns it."""
    return {
        "name": name,
        "pid": pid,
        "mem": vram_bytes,
        "engine_usage": {"gfx": 0, "enc": 0},
        "memory_usage": {"gtt_mem": 0, "cpu_mem": 0, "vram_mem": vram_bytes},
    }
