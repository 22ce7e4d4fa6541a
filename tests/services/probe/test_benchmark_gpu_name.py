"""A benchmark run names the host's GPU from the collector's latest sample of that host."""

from __future__ import annotations

import pytest

from ollamon_core.events import GpuSample, OllamaSystemMetrics
from ollamon_probe.host_samples import HostSamples


def _sample(host: str, *names: str) -> OllamaSystemMetrics:
    return OllamaSystemMetrics(
        host=host,
        cpu_usage_percent=1,
        memory_usage_percent=1,
        memory_available_gb=1,
        disk_usage_percent=1,
        gpus=[GpuSample(index=index, name=name) for index, name in enumerate(names)],
    )


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        (("NVIDIA H200",), "NVIDIA H200"),
        (("NVIDIA H200", "NVIDIA H200"), "2x NVIDIA H200"),
        (("NVIDIA L4", "AMD Radeon PRO W7900"), "NVIDIA L4, AMD Radeon PRO W7900"),
        ((), None),
        (("",), None),
    ],
)
def test_the_gpu_name_is_the_latest_samples(names: tuple[str, ...], shown: str | None) -> None:
    samples = HostSamples(max_age_seconds=30)
    samples.add(_sample("gpu-a", *names))
    samples.add(_sample("gpu-b", "other"))
    assert samples.gpu_name("gpu-a") == shown


def test_a_host_never_sampled_has_no_gpu_name() -> None:
    assert HostSamples(max_age_seconds=30).gpu_name("nowhere") is None
