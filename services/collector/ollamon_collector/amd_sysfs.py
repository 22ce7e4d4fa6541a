"""Reading AMD GPUs from the amdgpu driver's sysfs files, where no AMD SMI library is usable.

Under `<sysfs root>/class/drm/card<N>/device/` the amdgpu driver (any kernel since 4.x,
no ROCm needed) exposes `gpu_busy_percent`, `mem_info_vram_used` and `mem_info_vram_total`
(bytes), and a `hwmon/hwmon<M>/` folder with `temp1_input` (millidegrees Celsius, the
edge sensor), `power1_average` or `power1_input` (microwatts) and `power1_cap`
(microwatts). A file the card or kernel lacks leaves only its field empty. The driver
offers no list of the processes holding VRAM here, so `processes` stays empty on this path.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from ollamon_core.events import GpuSample

AMD_VENDOR_ID = "0x1002"
SYSFS_ROOT = Path("/sys")
CARD_NAME = re.compile(r"card(\d+)")  # card0, not its connectors (card0-DP-1)
MILLI = 1000.0
MICRO = 1_000_000.0


def drm_folder(sysfs_root: Path) -> Path:
    """Where the DRM cards are listed under a sysfs root."""
    return sysfs_root / "class" / "drm"


def find_amd_cards(sysfs_root: Path = SYSFS_ROOT) -> list[Path]:
    """The `device` folders of the AMD cards with a VRAM or busy reading, by card number."""
    drm = drm_folder(sysfs_root)
    try:
        entries = list(drm.iterdir())
    except OSError:
        return []
    cards: list[tuple[int, Path]] = []
    for entry in entries:
        match = CARD_NAME.fullmatch(entry.name)
        device = entry / "device"
        if match is None or _read_text(device / "vendor") != AMD_VENDOR_ID:
            continue
        if (device / "mem_info_vram_total").exists() or (device / "gpu_busy_percent").exists():
            cards.append((int(match.group(1)), device))
    return [device for _, device in sorted(cards)]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _read_number(path: Path) -> float | None:
    text = _read_text(path)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _scaled(value: float | None, divisor: float) -> float | None:
    return None if value is None else value / divisor


def _hwmon(device: Path) -> Path | None:
    try:
        folders = sorted((device / "hwmon").glob("hwmon*"))
    except OSError:
        return None
    return folders[0] if folders else None


class AmdSysfsReader:
    """Reads each AMD card found under a sysfs root.

    Args:
        devices: the cards' `device` folders (`find_amd_cards`).
    """

    def __init__(self, devices: list[Path]) -> None:
        self.devices = devices
        self.gpu_count = len(devices)

    def read(self, ollama_pids: Collection[int] = ()) -> list[GpuSample]:
        """One sample per card (no processes: sysfs does not list them)."""
        return [self._read_card(index, device) for index, device in enumerate(self.devices)]

    def close(self) -> None:
        """Nothing to release."""

    def _read_card(self, index: int, device: Path) -> GpuSample:
        busy = _read_number(device / "gpu_busy_percent")
        used = _read_number(device / "mem_info_vram_used")
        total = _read_number(device / "mem_info_vram_total")
        name = _read_text(device / "product_name") or (
            f"AMD GPU {_read_text(device / 'device') or ''}".strip()
        )
        uuid = _read_text(device / "unique_id") or ""
        if busy is None and used is None and total is None:
            return GpuSample(
                index=index, name=name, uuid=uuid, error=f"{device}: no readable figures"
            )
        hwmon = _hwmon(device)
        temperature = power_draw = power_cap = None
        if hwmon is not None:
            temperature = _scaled(_read_number(hwmon / "temp1_input"), MILLI)
            power_draw = _scaled(
                _read_number(hwmon / "power1_average") or _read_number(hwmon / "power1_input"),
                MICRO,
            )
            power_cap = _scaled(_read_number(hwmon / "power1_cap"), MICRO)
        return GpuSample(
            index=index,
            name=name,
            uuid=uuid,
            utilization_percent=busy,
            memory_used_bytes=None if used is None else int(used),
            memory_total_bytes=None if total is None else int(total),
            temperature_celsius=temperature,
            power_draw_watts=power_draw,
            power_limit_watts=power_cap,
        )
