"""Settings of the collector, read from `OLLAMON_*` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ollamon_core.settings import (
    SpoolingServiceSettings,
    monitoring_interval_field,
    storage_path_field,
)


class CollectorSettings(SpoolingServiceSettings):
    """Settings of the collector."""

    monitoring_interval_seconds: float = monitoring_interval_field()
    storage_path: Path = storage_path_field()
    process_rescan_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest time between two scans of all processes for Ollama's server and "
        "runners (also rescanned when a tracked one exits or the loaded models change)",
    )
    connections_fallback_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Where /proc/net/snmp is missing, how long a psutil.net_connections() "
        "count of active TCP connections is reused (that call is expensive)",
    )
    ollama_models_path: Path | None = Field(
        default=None,
        description="Ollama's model folder: its filesystem is reported in bytes and forecast "
        "(disk_full_forecast) besides root's and storage's; unset: Ollama's own OLLAMA_MODELS, "
        "else ~/.ollama/models where it exists",
    )
    sysfs_root: Path = Field(
        default=Path("/sys"),
        description="Where sysfs is mounted: AMD GPUs without AMD SMI are read from "
        "<root>/class/drm/card*/device (a container that mounts the host's /sys elsewhere "
        "points here)",
    )
