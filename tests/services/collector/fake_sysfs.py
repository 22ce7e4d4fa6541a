"""A fake sysfs tree of amdgpu cards under tmp_path, with the files the driver writes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class SysfsCard:
    """One card's files; None leaves the file out (an older kernel or another card)."""

    vendor: str = "0x1002"
    device_id: str = "0x744c"
    product_name: str | None = "AMD Radeon RX 7900 XTX"
    busy_percent: int | None = 63
    vram_used_bytes: int | None = 5 * 1024**3
    vram_total_bytes: int | None = 24 * 1024**3
    temperature_millicelsius: int | None = 48_000
    power_average_microwatts: int | None = 95_000_000
    power_input_microwatts: int | None = None
    power_cap_microwatts: int | None = 327_000_000


def write_card(sysfs_root: Path, number: int, card: SysfsCard) -> Path:
    """Write card<number> under sysfs_root/class/drm, as amdgpu lays it out; its device folder."""
    device = sysfs_root / "class" / "drm" / f"card{number}" / "device"
    hwmon = device / "hwmon" / f"hwmon{number + 2}"
    hwmon.mkdir(parents=True)
    files = {
        device / "vendor": card.vendor,
        device / "device": card.device_id,
        device / "product_name": card.product_name,
        device / "gpu_busy_percent": card.busy_percent,
        device / "mem_info_vram_used": card.vram_used_bytes,
        device / "mem_info_vram_total": card.vram_total_bytes,
        hwmon / "temp1_input": card.temperature_millicelsius,
        hwmon / "temp1_label": "edge",
        hwmon / "power1_average": card.power_average_microwatts,
        hwmon / "power1_input": card.power_input_microwatts,
        hwmon / "power1_cap": card.power_cap_microwatts,
    }
    for path, value in files.items():
        if value is not None:
            path.write_text(f"{value}\n")
    # A connector of the same card: listed beside it, never a GPU of its own.
    (sysfs_root / "class" / "drm" / f"card{number}-DP-1").mkdir()
    return device
