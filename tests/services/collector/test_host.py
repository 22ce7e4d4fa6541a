"""Sampling this machine with psutil: plausible figures, rates from the second sample."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from ollamon_collector.connections import TcpConnectionCounter
from ollamon_collector.host import (
    HostSampler,
    existing_ancestor,
    mount_point,
    ollama_models_folder,
    read_disks,
)
from ollamon_collector.ollama_processes import OllamaProcessTracker


def make_sampler(storage_path: Path) -> HostSampler:
    return HostSampler(storage_path, TcpConnectionCounter(), OllamaProcessTracker())


def test_a_storage_path_not_created_yet_is_measured_at_its_nearest_existing_parent(
    tmp_path: Path,
) -> None:
    assert existing_ancestor(tmp_path / "not" / "yet") == tmp_path
    assert existing_ancestor(tmp_path) == tmp_path


def test_a_host_sample_has_every_figure_in_range(tmp_path: Path) -> None:
    sample = make_sampler(tmp_path / "data").sample()
    assert len(sample.cpu_per_core_percent) == psutil.cpu_count()
    assert 0 <= sample.cpu_usage_percent <= 100
    assert sample.load_average is not None
    assert 0 < sample.memory_usage_percent <= 100
    assert 0 < sample.memory_available_bytes <= sample.memory_total_bytes
    assert 0 < sample.memory_used_bytes <= sample.memory_total_bytes
    assert 0 < sample.root_disk_usage_percent <= 100
    assert sample.storage_disk_usage_percent is not None
    assert sample.active_connections is not None
    assert sample.process_count >= 1


def test_disks_are_measured_once_per_mount_point_in_bytes(tmp_path: Path) -> None:
    disks = read_disks([Path("/"), tmp_path, tmp_path / "data"])
    mounts = [disk.mount for disk in disks]
    assert mounts[0] == "/"
    assert len(mounts) == len(set(mounts)) == len({Path("/"), mount_point(tmp_path)})
    for disk in disks:
        usage = psutil.disk_usage(disk.mount)
        assert 0 <= disk.used_bytes <= disk.total_bytes == usage.used + usage.free
    assert make_sampler(tmp_path).sample().disks[0].mount == "/"
    with_models = HostSampler(
        tmp_path, TcpConnectionCounter(), OllamaProcessTracker(), disk_paths=[tmp_path / "m"]
    )
    assert [disk.mount for disk in with_models.sample().disks] == mounts[:2]


def test_ollama_s_models_folder_is_its_variable_or_the_default_where_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ollama_models_folder({"OLLAMA_MODELS": "/srv/models"}) == Path("/srv/models")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ollama_models_folder({}) is None
    (tmp_path / ".ollama" / "models").mkdir(parents=True)
    assert ollama_models_folder({"OLLAMA_MODELS": ""}) == tmp_path / ".ollama" / "models"


def test_rates_come_from_the_counters_since_the_previous_sample(tmp_path: Path) -> None:
    sample = make_sampler(tmp_path).sample()  # the sampler took its first counters at start
    assert sample.rates.disk_read_mbps is not None
    assert sample.rates.disk_write_mbps is not None
    assert sample.rates.disk_write_mbps >= 0
    # Network: the host's non-loopback NICs; a machine with none reports None.
    has_nics = any(not name.startswith("lo") for name in psutil.net_io_counters(pernic=True))
    assert (sample.rates.network_rx_mbps is not None) == has_nics
