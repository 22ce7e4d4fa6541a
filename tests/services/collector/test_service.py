"""The collector service in-process over a real nats-server, with a fake NVML."""

from __future__ import annotations

import asyncio
import functools
import os
import statistics
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.msg import Msg

from ollamon_collector.service import running_collector
from ollamon_collector.settings import CollectorSettings
from ollamon_collector.system_sampler import SystemSampler, build_system_sampler
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.bus.wire import ERROR_HEADER
from ollamon_core.events import (
    CatalogModel,
    Heartbeat,
    LoadedModel,
    MonitoringAction,
    MonitoringControl,
    OllamaModelsSnapshot,
    OllamaSystemMetrics,
    ServiceName,
)
from ollamon_core.runtime import serve_until
from tests.conftest import BusFactory
from tests.services.collector.conftest import SpawnNamed, samples_taken_before_the_pause
from tests.services.collector.fake_nvml import FakeNvml, two_gpu_nvml
from tests.support.waiting import wait_for

HOST = "collector-test-host"
GIB = 1024**3


class Observed:
    """What a test sees on the bus: system samples and collector heartbeats."""

    def __init__(self) -> None:
        self.samples: list[OllamaSystemMetrics] = []
        self.heartbeats: list[Heartbeat] = []

    async def on_sample(self, event: OllamaSystemMetrics, _msg: Any) -> None:
        self.samples.append(event)

    async def on_heartbeat(self, event: Heartbeat, _msg: Any) -> None:
        self.heartbeats.append(event)

    def last_state(self) -> str | None:
        return self.heartbeats[-1].state if self.heartbeats else None


@pytest.fixture
def fake_nvml() -> FakeNvml:
    return two_gpu_nvml()


@pytest.fixture
def settings(clean_nats_url: str, tmp_path: Path) -> CollectorSettings:
    return CollectorSettings(
        nats_url=clean_nats_url,
        host_label=HOST,
        monitoring_interval_seconds=0.2,
        heartbeat_interval_seconds=0.1,
        storage_path=tmp_path / "data",
    )


@pytest.fixture
async def observer(bus_factory: BusFactory) -> Bus:
    return await bus_factory(ServiceName.GATEWAY)


@pytest.fixture
async def observed(observer: Bus) -> Observed:
    seen = Observed()
    await observer.subscribe(subjects.SYSTEM, seen.on_sample)
    await observer.subscribe(subjects.heartbeat_subject(ServiceName.COLLECTOR), seen.on_heartbeat)
    return seen


StartCollector = Callable[[CollectorSettings], "asyncio.Task[None]"]


@pytest.fixture
async def start_collector(
    fake_nvml: FakeNvml, tmp_path: Path
) -> AsyncIterator[Callable[[CollectorSettings], asyncio.Task[None]]]:
    """Run the collector as a task (fake NVML, no driver folder); stopped after the test."""
    stops: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    def factory(settings: CollectorSettings) -> SystemSampler:
        return build_system_sampler(
            settings, load_nvml=lambda: fake_nvml, proc_driver_path=tmp_path / "none", environ={}
        )

    def start(settings: CollectorSettings) -> asyncio.Task[None]:
        stop = asyncio.Event()
        lifespan = functools.partial(running_collector, sampler_factory=factory)
        task = asyncio.create_task(serve_until(lifespan, settings, stop))
        stops.append((stop, task))
        return task

    try:
        yield start
    finally:
        for stop, task in stops:
            stop.set()
            await asyncio.wait_for(task, 10)


async def test_samples_arrive_at_the_interval_carrying_host_interval_and_gpus(
    settings: CollectorSettings, observed: Observed, start_collector: StartCollector
) -> None:
    start_collector(settings)
    await wait_for(lambda: len(observed.samples) >= 6, timeout=10, message="six samples")
    sample = observed.samples[-1]
    assert sample.host == HOST
    assert sample.interval_seconds == 0.2
    gaps = [
        (later.timestamp - earlier.timestamp).total_seconds()
        for earlier, later in zip(observed.samples, observed.samples[1:], strict=False)
    ]
    assert 0.1 < statistics.median(gaps) < 0.5
    assert sample.gpu_detection == "nvml"
    assert [gpu.name for gpu in sample.gpus] == ["NVIDIA Fake A", "NVIDIA Fake B"]
    assert sample.gpu_usage_percent == pytest.approx(50.0)
    assert sample.gpu_memory_total_gb == pytest.approx(40.0)
    assert sample.cpu_per_core_percent
    assert sample.process_count


async def test_samples_are_persisted_in_the_event_stream(
    settings: CollectorSettings,
    observer: Bus,
    observed: Observed,
    start_collector: StartCollector,
) -> None:
    start_collector(settings)
    await wait_for(lambda: len(observed.samples) >= 2, timeout=10, message="two samples")
    stored = await observer.js.get_last_msg(subjects.STREAM_EVENTS, subjects.SYSTEM)
    assert stored.data is not None
    assert OllamaSystemMetrics.model_validate_json(stored.data).host == HOST


async def test_stop_stops_the_samples_and_start_resumes_them_with_a_new_interval(
    settings: CollectorSettings,
    observer: Bus,
    observed: Observed,
    start_collector: StartCollector,
) -> None:
    start_collector(settings)
    await wait_for(lambda: observed.samples, timeout=10, message="a first sample")
    await observer.publish(MonitoringControl(action=MonitoringAction.STOP))
    await wait_for(lambda: observed.last_state() == "paused", timeout=5, message="paused")
    count_when_stopped = await samples_taken_before_the_pause(observed.samples, observed.heartbeats)

    await observer.publish(MonitoringControl(action=MonitoringAction.START, interval_seconds=0.5))
    await wait_for(
        lambda: len(observed.samples) >= count_when_stopped + 3, timeout=10, message="resumed"
    )
    assert observed.samples[-1].interval_seconds == 0.5
    await wait_for(lambda: observed.last_state() == "running", timeout=5, message="running")


@pytest.mark.parametrize(
    "interval",
    [b"1e-9", b"0.1", b"true", b'"2"', b"7200", b"NaN"],
    ids=["tiny", "under-the-floor", "boolean", "string", "over-the-ceiling", "nan"],
)
async def test_a_bad_interval_from_a_plain_nats_client_is_dead_lettered_and_changes_nothing(
    settings: CollectorSettings,
    clean_nats_url: str,
    observed: Observed,
    start_collector: StartCollector,
    interval: bytes,
) -> None:
    start_collector(settings)
    await wait_for(lambda: observed.heartbeats, timeout=10, message="a first heartbeat")
    nc = await nats.connect(clean_nats_url)
    try:
        dead: list[Msg] = []

        async def keep(msg: Msg) -> None:
            dead.append(msg)

        await nc.subscribe(subjects.deadletter_subject(ServiceName.COLLECTOR), cb=keep)
        body = b'{"action": "start", "interval_seconds": ' + interval + b"}"
        await nc.publish(subjects.CONTROL_MONITORING, body)
        await wait_for(lambda: dead, timeout=5, message="the control dead-lettered")
    finally:
        await nc.drain()
    assert dead[0].headers and "interval_seconds" in dead[0].headers[ERROR_HEADER]
    await wait_for(
        lambda: observed.heartbeats[-1].counters.get("invalid_messages") == 1,
        timeout=5,
        message="the rejection counted",
    )
    count = len(observed.samples)
    await wait_for(lambda: len(observed.samples) >= count + 2, timeout=5, message="more samples")
    assert {sample.interval_seconds for sample in observed.samples} == {0.2}
    assert observed.last_state() == "running"


async def test_an_interval_change_at_runtime_takes_effect_at_once(
    settings: CollectorSettings,
    observer: Bus,
    observed: Observed,
    start_collector: StartCollector,
) -> None:
    start_collector(settings.model_copy(update={"monitoring_interval_seconds": 30.0}))
    await wait_for(lambda: observed.samples, timeout=10, message="the first sample")
    assert observed.samples[0].interval_seconds == 30.0
    await observer.publish(MonitoringControl(action=MonitoringAction.START, interval_seconds=0.5))
    # At 30 s, five more samples would take minutes; at 0.5 s (the floor) about 2.5 s.
    await wait_for(lambda: len(observed.samples) >= 6, timeout=15, message="faster samples")
    assert observed.samples[-1].interval_seconds == 0.5


async def test_models_loaded_follows_the_probes_snapshot_of_this_host(
    settings: CollectorSettings,
    observer: Bus,
    observed: Observed,
    start_collector: StartCollector,
) -> None:
    start_collector(settings)
    await wait_for(lambda: observed.samples, timeout=10, message="a first sample")
    assert observed.samples[-1].models_loaded == 0
    await observer.publish(
        OllamaModelsSnapshot(
            host="some-other-host",
            ollama_url="http://elsewhere:11434",
            loaded=[LoadedModel(name=f"m{index}") for index in range(9)],
        )
    )
    await observer.publish(
        OllamaModelsSnapshot(
            host=HOST,
            ollama_url="http://127.0.0.1:11434",
            loaded=[LoadedModel(name="llama3.2:1b"), LoadedModel(name="qwen2.5:7b")],
            available=[CatalogModel(name=name) for name in ("llama3.2:1b", "qwen2.5:7b", "phi3")],
        )
    )
    await wait_for(
        lambda: observed.samples[-1].models_loaded == 2, timeout=5, message="two models loaded"
    )
    assert observed.samples[-1].total_models == 3
    await observer.publish(OllamaModelsSnapshot(host=HOST, ollama_url="http://127.0.0.1:11434"))
    await wait_for(lambda: observed.samples[-1].models_loaded == 0, timeout=5, message="unloaded")


async def test_a_snapshot_kept_in_the_stream_counts_from_the_first_sample(
    settings: CollectorSettings,
    observer: Bus,
    observed: Observed,
    start_collector: StartCollector,
) -> None:
    await observer.publish_persistent(
        OllamaModelsSnapshot(
            host=HOST, ollama_url="http://127.0.0.1:11434", loaded=[LoadedModel(name="a")]
        )
    )
    start_collector(settings)
    await wait_for(lambda: observed.samples, timeout=10, message="a first sample")
    assert observed.samples[0].models_loaded == 1


async def test_a_gpu_that_fails_mid_run_is_reported_and_the_others_still_sampled(
    settings: CollectorSettings,
    fake_nvml: FakeNvml,
    observed: Observed,
    start_collector: StartCollector,
) -> None:
    start_collector(settings)
    await wait_for(lambda: observed.samples, timeout=10, message="a first sample")
    fake_nvml.gpus[1].lost = True
    await wait_for(
        lambda: observed.samples[-1].gpus[1].error is not None, timeout=5, message="an error"
    )
    failed = observed.samples[-1]
    assert failed.gpus[1].error == "GPU is lost"
    assert failed.gpus[0].error is None
    assert failed.gpu_usage_percent == pytest.approx(90.0)  # the healthy GPU alone
    assert failed.cpu_usage_percent >= 0


async def test_vram_of_an_ollama_runner_is_attributed_by_pid(
    settings: CollectorSettings,
    fake_nvml: FakeNvml,
    observed: Observed,
    start_collector: StartCollector,
    spawn_named: SpawnNamed,
) -> None:
    runner = await asyncio.to_thread(spawn_named, "ollama", ["runner", "--model", "blob"])
    fake_nvml.gpus[0].compute_processes = {runner.pid: 6 * GIB, os.getpid(): GIB}
    start_collector(settings)
    await wait_for(lambda: observed.samples, timeout=10, message="a first sample")
    sample = observed.samples[-1]
    assert [(item.pid, item.role) for item in sample.ollama_processes] == [(runner.pid, "runner")]
    holders = {item.pid: item for item in sample.gpus[0].processes}
    assert holders[runner.pid].is_ollama
    assert holders[runner.pid].gpu_memory_used_bytes == 6 * GIB
    assert holders[runner.pid].name == "ollama"
    assert not holders[os.getpid()].is_ollama


async def test_a_malformed_control_message_is_dead_lettered_and_sampling_goes_on(
    settings: CollectorSettings,
    observer: Bus,
    observed: Observed,
    start_collector: StartCollector,
) -> None:
    start_collector(settings)
    await wait_for(lambda: observed.samples, timeout=10, message="a first sample")
    dead: list[object] = []

    async def keep(msg: object) -> None:
        dead.append(msg)

    await observer.nc.subscribe(subjects.deadletter_subject(ServiceName.COLLECTOR), cb=keep)
    await observer.nc.publish(subjects.CONTROL_MONITORING, b'{"action": "explode"}')
    await wait_for(lambda: dead, timeout=5, message="dead-lettered")
    count = len(observed.samples)
    await wait_for(lambda: len(observed.samples) > count + 1, timeout=5, message="still sampling")
    assert observed.last_state() == "running"


async def test_a_sample_that_fails_is_counted_and_the_next_ones_still_published(
    settings: CollectorSettings, observed: Observed, tmp_path: Path
) -> None:
    failures = [RuntimeError("psutil hiccup")]

    class FlakySampler(SystemSampler):
        def sample(self, *args: Any, **kwargs: Any) -> OllamaSystemMetrics:
            if failures:
                raise failures.pop()
            return super().sample(*args, **kwargs)

    def factory(settings: CollectorSettings) -> SystemSampler:
        built = build_system_sampler(
            settings, load_nvml=two_gpu_nvml, proc_driver_path=tmp_path / "none", environ={}
        )
        return FlakySampler(built.host, built.detection, built.gpu_reader)

    async with running_collector(settings, sampler_factory=factory):
        await wait_for(lambda: len(observed.samples) >= 2, timeout=10, message="two samples")
        await wait_for(
            lambda: any(beat.counters.get("sample_errors") == 1 for beat in observed.heartbeats),
            timeout=5,
            message="the failure counted in a heartbeat",
        )
    assert failures == []


async def test_the_collector_spools_under_its_own_folder_and_reports_it_in_heartbeats(
    settings: CollectorSettings,
    observed: Observed,
    start_collector: StartCollector,
) -> None:
    default = settings.model_copy(update={"spool_path": None})  # spool/ under storage_path
    start_collector(default)
    await wait_for(lambda: observed.heartbeats, timeout=10, message="a heartbeat")
    counters = observed.heartbeats[-1].counters
    assert counters["spool_events"] == 0
    assert counters["spool_oldest_age_seconds"] == 0
    spool_file = settings.storage_path / "spool" / "collector" / "spool.sqlite3"
    assert await asyncio.to_thread(spool_file.exists)
