"""Reading AMD GPUs through AMD SMI's Python package (`amdsmi`, from ROCm).

`amdsmi` is an optional extra (`amd`): its Python package loads the ROCm install's
`libamd_smi.so` and should match it (AMD ships both together); without that library the
import fails. So it is imported lazily, and a host without it falls back to the driver's
sysfs files (`amd_sysfs.py`). The module is passed in (tests pass a fake whose names and
shapes are amdsmi 7.0.2's).

Per GPU: utilisation (`gfx_activity`), VRAM used/total (AMD SMI reports MiB), temperature
(edge sensor, else hotspot: MI-series cards have no edge sensor), socket power and its
limit, and the processes holding VRAM. AMD SMI answers
"N/A" for a figure a card does not report; that field is then empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from functools import partial
from typing import Any

from ollamon_collector.nvml_reader import process_name
from ollamon_core.events import GpuProcessSample, GpuSample

log = logging.getLogger(__name__)

MIB = 1024**2
# Socket power in W: `socket_power` since ROCm 7.0, `current_socket_power` before (N/A on
# some cards), `average_socket_power` (N/A on MI300 and later).
POWER_KEYS = ("socket_power", "current_socket_power", "average_socket_power")
# `power_limit` is in W in older releases and in microwatts in newer ones; no GPU's limit
# reaches this many watts, so a larger figure is microwatts.
MICROWATTS_ABOVE = 100_000


def load_amdsmi() -> Any:
    """Import AMD SMI's `amdsmi` module (raises where it or its library is missing)."""
    import amdsmi  # type: ignore[import-not-found, unused-ignore]

    return amdsmi


def number(value: Any) -> float | None:
    """A figure AMD SMI reported, or None for "N/A" and anything else not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def power_limit_watts(value: Any) -> float | None:
    """AMD SMI's `power_limit` in W, whichever unit the installed release reports it in."""
    limit = number(value)
    if limit is None or limit <= 0:
        return None
    return limit / 1_000_000 if limit > MICROWATTS_ABOVE else limit


def start_amdsmi(amdsmi: Any) -> list[Any]:
    """Initialise AMD SMI for GPUs and return the GPU handles (raises on failure)."""
    flags = getattr(amdsmi, "AmdSmiInitFlags", None)
    if flags is not None:
        amdsmi.amdsmi_init(flags.INIT_AMD_GPUS)
    else:
        amdsmi.amdsmi_init()
    return list(amdsmi.amdsmi_get_processor_handles())


class AmdSmiReader:
    """Reads every GPU AMD SMI reports.

    Args:
        amdsmi: the initialised amdsmi module (or a fake with the same functions).
        handles: the GPU handles (`start_amdsmi`).
        name_of_process: maps a PID to a process name (where AMD SMI gives none).
    """

    def __init__(
        self,
        amdsmi: Any,
        handles: list[Any],
        name_of_process: Callable[[int], str] = process_name,
    ) -> None:
        self._amdsmi = amdsmi
        self._handles = handles
        self._name_of_process = name_of_process
        self.gpu_count = len(handles)

    def read(self, ollama_pids: Collection[int] = ()) -> list[GpuSample]:
        """One sample per GPU; PIDs in `ollama_pids` are marked `is_ollama`."""
        return [
            self._read_gpu(index, handle, ollama_pids) for index, handle in enumerate(self._handles)
        ]

    def close(self) -> None:
        """Shut AMD SMI down (errors ignored: we are leaving anyway)."""
        try:
            self._amdsmi.amdsmi_shut_down()
        except Exception as error:
            log.debug("amdsmi_shut_down failed: %r", error)

    def _optional(self, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except self._amdsmi.AmdSmiException:
            return None

    def _read_gpu(self, index: int, handle: Any, ollama_pids: Collection[int]) -> GpuSample:
        amdsmi = self._amdsmi
        asic = self._optional(lambda: amdsmi.amdsmi_get_gpu_asic_info(handle)) or {}
        name = str(asic.get("market_name", "")) if isinstance(asic, dict) else ""
        uuid = str(self._optional(lambda: amdsmi.amdsmi_get_gpu_device_uuid(handle)) or "")
        try:
            activity = amdsmi.amdsmi_get_gpu_activity(handle)
            vram = amdsmi.amdsmi_get_gpu_vram_usage(handle)
        except amdsmi.AmdSmiException as error:
            return GpuSample(index=index, name=name, uuid=uuid, error=f"{error}")
        used, total = number(vram.get("vram_used")), number(vram.get("vram_total"))
        power = self._optional(lambda: amdsmi.amdsmi_get_power_info(handle)) or {}
        draw = next(
            (number(power.get(key)) for key in POWER_KEYS if number(power.get(key)) is not None),
            None,
        )
        processes = self._optional(lambda: self._processes(handle, ollama_pids))
        return GpuSample(
            index=index,
            name=name,
            uuid=uuid,
            utilization_percent=number(activity.get("gfx_activity")),
            memory_used_bytes=None if used is None else int(used * MIB),
            memory_total_bytes=None if total is None else int(total * MIB),
            temperature_celsius=self._temperature(handle),
            power_draw_watts=draw,
            power_limit_watts=power_limit_watts(power.get("power_limit")),
            processes=processes or [],
        )

    def _temperature(self, handle: Any) -> float | None:
        amdsmi = self._amdsmi
        sensors = getattr(amdsmi, "AmdSmiTemperatureType", None)
        metrics = getattr(amdsmi, "AmdSmiTemperatureMetric", None)
        if sensors is None or metrics is None:
            return None
        read = amdsmi.amdsmi_get_temp_metric
        for sensor in (sensors.EDGE, sensors.HOTSPOT):
            value = number(self._optional(partial(read, handle, sensor, metrics.CURRENT)))
            if value is not None:
                return value
        return None

    def _processes(self, handle: Any, ollama_pids: Collection[int]) -> list[GpuProcessSample]:
        samples: dict[int, GpuProcessSample] = {}
        for entry in self._amdsmi.amdsmi_get_gpu_process_list(handle):
            if not isinstance(entry, dict) or "pid" not in entry:
                continue  # older bindings: opaque handles, not read here
            pid = int(entry["pid"])
            usage = entry.get("memory_usage")
            vram = number(usage.get("vram_mem")) if isinstance(usage, dict) else None
            if vram is None:
                vram = number(entry.get("mem"))
            samples[pid] = GpuProcessSample(
                pid=pid,
                name=str(entry.get("name") or "") or self._name_of_process(pid),
                gpu_memory_used_bytes=None if vram is None else int(vram),
                is_ollama=pid in ollama_pids,
            )
        return [samples[pid] for pid in sorted(samples)]
