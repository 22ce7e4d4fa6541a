"""Reading each GPU through NVML: utilisation, memory, temperature, power, throttling,
and the processes that hold GPU memory (Ollama's runners attributed by PID).

The pynvml module is passed in (tests pass a fake). A GPU whose core reads (memory,
utilisation) fail yields a sample with `error` set, and the other GPUs are still read;
an optional read that fails (temperature, power, throttle reasons, processes: often
"not supported" on consumer cards) leaves only that field empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any, TypeVar

import psutil

from ollamon_core.events import GpuProcessSample, GpuSample

log = logging.getLogger(__name__)

T = TypeVar("T")

MILLIWATTS_PER_WATT = 1000.0
NVML_TEMPERATURE_GPU = 0  # the NVML constant, stable across versions
PROCESS_LISTS = ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses")
NVML_VALUE_NOT_AVAILABLE = 2**64 - 1  # what old bindings report for an unknown amount

# NVML's clocks event (formerly "throttle") reason bits, stable across NVML versions.
THROTTLE_REASON_NAMES: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
    0x200: "board_limit",
    0x400: "reliability",
}


def decode_throttle_reasons(mask: int) -> list[str]:
    """Names of the bits set in an NVML clocks throttle reasons mask, lowest bit first.

    Bits NVML may add later come out as `unknown_0x...` rather than vanishing.
    """
    names: list[str] = []
    bit = 1
    while bit <= mask:
        if mask & bit:
            names.append(THROTTLE_REASON_NAMES.get(bit, f"unknown_{bit:#x}"))
        bit <<= 1
    return names


def process_name(pid: int) -> str:
    """The name of a process, or "" when it is gone or hidden (another PID namespace)."""
    try:
        return psutil.Process(pid).name()
    except psutil.Error:
        return ""


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class NvmlReader:
    """Reads every GPU NVML reports.

    Args:
        nvml: the initialised pynvml module (or a fake with the same functions).
        gpu_count: how many GPUs to read (asked of NVML when None).
        name_of_process: maps a PID to a process name.
    """

    def __init__(
        self,
        nvml: Any,
        gpu_count: int | None = None,
        name_of_process: Callable[[int], str] = process_name,
    ) -> None:
        self._nvml = nvml
        self._name_of_process = name_of_process
        self._process_names: dict[int, str] = {}
        self._identity: dict[int, tuple[str, str]] = {}
        self.gpu_count = int(nvml.nvmlDeviceGetCount()) if gpu_count is None else gpu_count

    def read(self, ollama_pids: Collection[int] = ()) -> list[GpuSample]:
        """One sample per GPU; PIDs in `ollama_pids` are marked `is_ollama`."""
        samples = [self._read_gpu(index, ollama_pids) for index in range(self.gpu_count)]
        # Forget names of PIDs no longer on any GPU, so a reused PID gets its own name.
        on_gpus = {process.pid for sample in samples for process in sample.processes}
        self._process_names = {
            pid: name for pid, name in self._process_names.items() if pid in on_gpus
        }
        return samples

    def close(self) -> None:
        """Shut NVML down (errors ignored: we are leaving anyway)."""
        try:
            self._nvml.nvmlShutdown()
        except Exception as error:
            log.debug("nvmlShutdown failed: %r", error)

    def _read_gpu(self, index: int, ollama_pids: Collection[int]) -> GpuSample:
        nvml = self._nvml
        name, uuid = self._identity.get(index, ("", ""))
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            if index not in self._identity:
                name = _text(nvml.nvmlDeviceGetName(handle))
                uuid = _text(nvml.nvmlDeviceGetUUID(handle))
                self._identity[index] = (name, uuid)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            utilization = nvml.nvmlDeviceGetUtilizationRates(handle)
        except nvml.NVMLError as error:
            return GpuSample(index=index, name=name, uuid=uuid, error=f"{error}")

        def optional(read: Callable[[], T]) -> T | None:
            try:
                return read()
            except nvml.NVMLError:
                return None

        power_draw_mw = optional(lambda: nvml.nvmlDeviceGetPowerUsage(handle))
        power_limit_mw = optional(lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle))
        throttle_mask = optional(lambda: self._throttle_mask(handle))
        processes = optional(lambda: self._processes(handle, ollama_pids))
        return GpuSample(
            index=index,
            name=name,
            uuid=uuid,
            utilization_percent=float(utilization.gpu),
            memory_used_bytes=int(memory.used),
            memory_total_bytes=int(memory.total),
            temperature_celsius=optional(
                lambda: float(nvml.nvmlDeviceGetTemperature(handle, NVML_TEMPERATURE_GPU))
            ),
            power_draw_watts=None if power_draw_mw is None else power_draw_mw / MILLIWATTS_PER_WATT,
            power_limit_watts=(
                None if power_limit_mw is None else power_limit_mw / MILLIWATTS_PER_WATT
            ),
            throttle_reasons=decode_throttle_reasons(throttle_mask or 0),
            processes=processes or [],
        )

    def _throttle_mask(self, handle: Any) -> int:
        # NVML 12.2 renamed throttle reasons to clocks event reasons; older bindings lack it.
        read = getattr(self._nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if read is None:
            read = self._nvml.nvmlDeviceGetCurrentClocksThrottleReasons
        return int(read(handle))

    def _processes(self, handle: Any, ollama_pids: Collection[int]) -> list[GpuProcessSample]:
        # A process can be listed as both compute and graphics; keep the larger figure.
        used_bytes: dict[int, int | None] = {}
        for getter in PROCESS_LISTS:
            read = getattr(self._nvml, getter, None)
            if read is None:
                continue
            for entry in read(handle):
                memory = getattr(entry, "usedGpuMemory", None)
                if memory == NVML_VALUE_NOT_AVAILABLE:
                    memory = None
                before = used_bytes.get(entry.pid)
                used_bytes[entry.pid] = max(
                    (value for value in (before, memory) if value is not None), default=None
                )
        return [
            GpuProcessSample(
                pid=pid,
                name=self._cached_name(pid),
                gpu_memory_used_bytes=memory,
                is_ollama=pid in ollama_pids,
            )
            for pid, memory in sorted(used_bytes.items())
        ]

    def _cached_name(self, pid: int) -> str:
        name = self._process_names.get(pid)
        if name is None:
            name = self._name_of_process(pid)
            self._process_names[pid] = name
        return name
