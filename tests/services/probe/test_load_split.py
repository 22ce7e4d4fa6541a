"""Queue wait is told from a cold load by `/api/ps` residency; each request carries its
model's GPU memory and its host's GPU utilisation (proxy, watcher and emulator, for real)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import ollama
import pytest

from ollama_emulator.app import create_app
from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.server import serve_app
from ollamon_core.events import OllamaModelMetrics, OllamaSystemMetrics, utc_now
from ollamon_probe.host_samples import HostSamples
from ollamon_probe.proxy import create_proxy_app
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import serving
from ollamon_probe.settings import ProbeSettings
from ollamon_probe.upstream import create_proxy_pool
from ollamon_probe.watcher import Watcher
from tests.support.waiting import wait_for

SLOW_LOAD_MS = 600


class Keep:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def emit(self, event: Any) -> bool:
        self.events.append(event)
        return True

    def requests(self, model: str) -> list[OllamaModelMetrics]:
        return [
            e for e in self.events if isinstance(e, OllamaModelMetrics) and e.model_name == model
        ]


def system_sample(
    host: str, gpu_percent: float | None, age_seconds: float = 0.0
) -> OllamaSystemMetrics:
    return OllamaSystemMetrics(
        host=host,
        timestamp=utc_now() - timedelta(seconds=age_seconds),
        cpu_usage_percent=10.0,
        memory_usage_percent=20.0,
        memory_available_gb=8.0,
        disk_usage_percent=30.0,
        gpu_usage_percent=gpu_percent,
    )


class Setup:
    def __init__(self, emulator_url: str, proxy_url: str, watcher: Watcher, sink: Keep) -> None:
        self.emulator_url = emulator_url
        self.client = ollama.AsyncClient(host=proxy_url)
        self.watcher = watcher
        self.sink = sink


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    config = EmulatorConfig(
        models=[
            ModelSpec(name="warm:latest", load_time_ms=1, size_vram_bytes=1_500_000_000),
            ModelSpec(name="slow:latest", load_time_ms=SLOW_LOAD_MS),
        ]
    )
    emulator = create_app(config)
    async with serve_app(emulator) as emulator_url, httpx.AsyncClient() as http:
        settings = ProbeSettings(ollama_urls=[emulator_url], host_label="box-1")
        residency = ResidencyBook()
        sink = Keep()
        samples = HostSamples(max_age_seconds=30.0)
        samples.add(system_sample("box-1", 73.5))
        samples.add(system_sample("other-box", 5.0))
        watcher = Watcher({emulator_url: "box-1"}, sink, http, residency, 60.0)
        async with create_proxy_pool(settings) as pool:
            app = create_proxy_app(settings, sink, pool, residency, host_samples=samples)
            async with serving(app, "127.0.0.1", 0) as proxy_url:
                yield Setup(emulator_url, proxy_url, watcher, sink)


async def test_a_resident_models_long_load_duration_is_queue_wait_and_a_cold_start_is_load(
    setup: Setup,
) -> None:
    await setup.watcher.poll_all()  # nothing loaded yet
    await setup.client.generate("warm", "x")  # a cold start
    await setup.watcher.poll_all()  # /api/ps lists warm:latest
    direct = ollama.AsyncClient(host=setup.emulator_url)
    loading = asyncio.create_task(setup.client.generate("slow", "x"))
    while not any(m.model == "slow:latest" for m in (await direct.ps()).models):
        await asyncio.sleep(0.005)
    await setup.client.generate("warm", "x")  # waits in Ollama's scheduler behind the load
    await loading
    await wait_for(lambda: len(setup.sink.requests("warm")) == 2, message="the warm requests")
    await wait_for(lambda: len(setup.sink.requests("slow")) == 1, message="the slow request")
    first_warm, queued = setup.sink.requests("warm")
    [cold_slow] = setup.sink.requests("slow")
    assert (first_warm.cold_start, first_warm.queue_wait_ms) == (True, None)
    assert first_warm.cold_load_ms == first_warm.load_duration_ms
    assert (queued.cold_start, queued.cold_load_ms) == (False, None)
    assert queued.queue_wait_ms == queued.load_duration_ms > SLOW_LOAD_MS / 3
    assert (cold_slow.cold_start, cold_slow.queue_wait_ms) == (True, None)
    assert cold_slow.cold_load_ms == cold_slow.load_duration_ms >= SLOW_LOAD_MS


async def test_each_request_carries_its_models_gpu_memory_and_its_hosts_gpu_use(
    setup: Setup,
) -> None:
    await setup.watcher.poll_all()
    await setup.client.generate("warm", "x")  # cold: the residency before it had no size
    await setup.watcher.poll_all()
    await setup.client.generate("warm", "x")
    await wait_for(lambda: len(setup.sink.requests("warm")) == 2, message="two events")
    cold, warm = setup.sink.requests("warm")
    assert cold.memory_usage_mb is None
    assert warm.memory_usage_mb == 1500.0  # size_vram of /api/ps, in MB
    assert (cold.gpu_utilization_percent, warm.gpu_utilization_percent) == (73.5, 73.5)


def test_a_stale_or_foreign_system_sample_gives_no_gpu_utilisation() -> None:
    samples = HostSamples(max_age_seconds=30.0)
    samples.add(system_sample("box-1", 40.0, age_seconds=45.0))
    samples.add(system_sample("box-2", 90.0))
    assert samples.gpu_utilization_percent("box-1", utc_now()) is None
    assert samples.gpu_utilization_percent("box-3", utc_now()) is None
    samples.add(system_sample("box-1", 55.0))
    samples.add(system_sample("box-1", 10.0, age_seconds=5.0))  # older than the one held
    assert samples.gpu_utilization_percent("box-1", utc_now()) == 55.0
