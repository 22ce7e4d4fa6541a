"""The watcher turns Ollama's state into health, snapshot and lifecycle events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import ollama
import pytest

from ollama_emulator.app import EmulatorApp, create_app
from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.server import serve_app
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import (
    Event,
    HealthCheckReply,
    HealthCheckRequest,
    LifecycleChange,
    ModelLifecycleEvent,
    MonitoringAction,
    MonitoringControl,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    ServiceName,
)
from ollamon_probe.proxy import create_proxy_app
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import serving
from ollamon_probe.upstream import create_proxy_pool
from ollamon_probe.watcher import Watcher
from tests.conftest import BusFactory
from tests.support.waiting import wait_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class SteppedPause:
    """The watcher's wait between polls, ended by the test (`step`: an interval passed)
    or by a control, never by time."""

    def __init__(self) -> None:
        self.waits = 0
        self.intervals: list[float] = []
        self._wake: asyncio.Event | None = None

    async def __call__(self, wake: asyncio.Event, interval_seconds: float) -> None:
        self.waits += 1
        self.intervals.append(interval_seconds)
        self._wake = wake
        await wake.wait()

    async def step(self) -> None:
        """Let one interval pass and return once the watcher is waiting again."""
        assert self._wake is not None
        waits = self.waits
        self._wake.set()
        await wait_for(lambda: self.waits > waits, message="the watcher's next round")


def models() -> EmulatorConfig:
    return EmulatorConfig(
        max_loaded_models=2,
        keep_alive_seconds=60,
        models=[
            ModelSpec(name="small:latest", load_time_ms=1),
            ModelSpec(name="other:latest", load_time_ms=1),
            ModelSpec(
                name="big:latest",
                load_time_ms=1,
                size_bytes=40_000_000_000,
                size_vram_bytes=24_000_000_000,
            ),
        ],
    )


@dataclass
class Watched:
    emulator: EmulatorApp
    url: str
    clock: FakeClock
    watcher: Watcher
    residency: ResidencyBook
    bus: Bus
    events: list[Event] = field(default_factory=list)

    async def all_published(self) -> None:
        """Wait until JetStream acknowledged every event the watcher emitted (the outbox
        retries a slow acknowledgement: a retry is a resend, not a loss)."""
        assert await self.bus.flush_outbox(), "the stream never acknowledged the events"

    def of(self, kind: type[Any]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]


@pytest.fixture
async def watched(bus_factory: BusFactory) -> AsyncIterator[Watched]:
    clock = FakeClock()
    emulator = create_app(models(), clock)
    bus = await bus_factory(ServiceName.PROBE)
    listener = await bus_factory(ServiceName.GATEWAY)
    async with serve_app(emulator) as url, httpx.AsyncClient() as http:
        residency = ResidencyBook()
        watcher = Watcher({url: "box-1"}, bus, http, residency, 60.0)
        state = Watched(emulator, url, clock, watcher, residency, bus)

        async def keep(event: Event, _msg: object) -> None:
            # A resend after a slow acknowledgement reaches subscribers again: keep it once.
            if all(seen.event_id != event.event_id for seen in state.events):
                state.events.append(event)

        await listener.subscribe(subjects.OLLAMA_ALL, keep)
        await listener.subscribe(subjects.REQUESTS_ALL, keep)
        await listener.nc.flush()
        yield state
        await watcher.close()


def changes(state: Watched) -> list[tuple[str, LifecycleChange, str | None]]:
    return [(e.model_name, e.change, e.evicted_by) for e in state.of(ModelLifecycleEvent)]


async def test_health_is_published_up_with_the_version(watched: Watched) -> None:
    [health] = await watched.watcher.poll_all()
    assert (health.up, health.version, health.changed, health.host) == (
        True,
        "0.12.6",
        True,
        "box-1",
    )
    await watched.all_published()
    await wait_for(lambda: health in watched.of(OllamaHealth), message="the health event")


async def test_a_down_ollama_is_reported_once_as_a_change() -> None:
    events: list[Any] = []

    class Keep:
        def emit(self, event: Any) -> bool:
            events.append(event)
            return True

    async with httpx.AsyncClient() as http:
        watcher = Watcher({"http://127.0.0.1:9": "gone"}, Keep(), http, ResidencyBook(), 60.0)
        first = await watcher.poll_all()
        second = await watcher.poll_all()
    assert [h.up for h in first + second] == [False, False]
    assert [h.changed for h in events] == [True]  # the unchanged second poll is not published
    assert "ConnectError" in (events[0].error_message or "")


async def test_lifecycle_events_follow_loads_evictions_and_expiry(watched: Watched) -> None:
    client = ollama.AsyncClient(host=watched.url)
    await watched.watcher.poll_all()  # baseline: nothing loaded
    await client.generate("small", "x")
    await watched.watcher.poll_all()
    watched.clock.now += 1
    await client.generate("big", "x")
    await watched.watcher.poll_all()
    watched.clock.now += 1
    await client.generate("other", "x")  # the limit is 2: small (oldest) is evicted
    await watched.watcher.poll_all()
    watched.clock.now += 120  # keep_alive ran out for both
    await watched.watcher.poll_all()
    await watched.all_published()
    await wait_for(lambda: len(watched.of(ModelLifecycleEvent)) == 6, message="6 lifecycle events")
    assert changes(watched)[:4] == [
        ("small:latest", LifecycleChange.LOADED, None),
        ("big:latest", LifecycleChange.LOADED, None),
        ("small:latest", LifecycleChange.EVICTED, "other:latest"),
        ("other:latest", LifecycleChange.LOADED, None),
    ]
    assert set(changes(watched)[4:]) == {
        ("big:latest", LifecycleChange.UNLOADED, None),
        ("other:latest", LifecycleChange.UNLOADED, None),
    }
    big_loaded = watched.of(ModelLifecycleEvent)[1]
    assert big_loaded.partially_offloaded
    assert (big_loaded.size_bytes, big_loaded.size_vram_bytes) == (40_000_000_000, 24_000_000_000)


async def test_snapshots_carry_loaded_models_and_the_described_catalogue(watched: Watched) -> None:
    await watched.watcher.poll_all()
    await ollama.AsyncClient(host=watched.url).generate("big", "x")
    await watched.watcher.poll_all()
    await watched.all_published()
    await wait_for(lambda: len(watched.of(OllamaModelsSnapshot)) == 2, message="2 snapshots")
    snapshot = watched.of(OllamaModelsSnapshot)[-1]
    assert snapshot.host == "box-1"
    assert [(m.name, m.partially_offloaded) for m in snapshot.loaded] == [("big:latest", True)]
    assert [m.name for m in snapshot.available] == ["small:latest", "other:latest", "big:latest"]
    assert snapshot.available[0].parameter_count == 1_235_814_432
    assert snapshot.available[0].context_length == 131072
    show_calls = watched.emulator.engine.stats["requests"]
    await watched.watcher.poll_all()
    # /api/show is cached by digest, the version asked only on the polls whose health is
    # published: a poll costs ps + tags only.
    assert watched.emulator.engine.stats["requests"] - show_calls == 2


async def test_the_version_is_asked_only_on_the_polls_whose_health_is_published() -> None:
    events: list[Any] = []
    paths: list[str] = []

    class Keep:
        def emit(self, event: Any) -> bool:
            events.append(event)
            return True

    async def record(request: httpx.Request) -> None:
        paths.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        async with serve_app(create_app(models())) as url:
            watcher = Watcher(
                {url: "box-1"}, Keep(), http, ResidencyBook(), 60.0, health_every_polls=3
            )
            healths = [health for _ in range(6) for health in await watcher.poll_all()]
            # httpx asks the version: on the first poll, the 3rd and the 6th only
            assert paths.count("/api/version") == 3
            assert "/api/ps" not in paths  # the watcher's own keep-alive connection asks it
            assert {(h.up, h.version) for h in healths} == {(True, "0.12.6")}
        [gone] = await watcher.poll_all()  # the server stopped: seen at the next poll
        await watcher.close()
    assert (gone.up, gone.changed) == (False, True)
    published = [event for event in events if isinstance(event, OllamaHealth)]
    assert [(h.up, h.changed) for h in published] == [
        (True, True),
        (True, False),
        (True, False),
        (False, True),
    ]


async def test_an_unchanged_snapshot_is_sent_again_only_every_few_polls_or_on_a_health_check(
    watched: Watched,
) -> None:
    watcher = Watcher(
        {watched.url: "box-1"},
        watched.bus,
        watched.watcher.http_client,
        ResidencyBook(),
        60.0,
        health_every_polls=3,
    )

    async def poll(expected_snapshots: int) -> None:
        await watcher.poll_all()
        await watched.all_published()
        await wait_for(
            lambda: len(watched.of(OllamaModelsSnapshot)) == expected_snapshots,
            message=f"{expected_snapshots} snapshots",
        )

    await poll(1)  # the first
    await poll(1)  # nothing changed: nothing sent
    await ollama.AsyncClient(host=watched.url).generate("small", "x")
    await poll(2)  # a model loaded
    await poll(2)
    await poll(2)
    await poll(3)  # the third poll since the last one sent
    assert watcher.counters["snapshots_unchanged"] == 3
    await watcher.health_check(HealthCheckRequest())
    await watched.all_published()
    await wait_for(lambda: len(watched.of(OllamaModelsSnapshot)) == 4, message="sent on request")
    first, loaded, again, asked = watched.of(OllamaModelsSnapshot)
    assert [m.name for m in first.loaded] == []
    assert [m.name for m in loaded.loaded] == [m.name for m in again.loaded] == ["small:latest"]
    assert (asked.loaded, asked.available) == (again.loaded, again.available)
    assert len({first.event_id, loaded.event_id, again.event_id, asked.event_id}) == 4


async def test_the_watchers_residency_decides_cold_and_warm_starts(watched: Watched) -> None:
    events: list[Any] = []

    class Keep:
        def emit(self, event: Any) -> bool:
            events.append(event)
            return True

    from ollamon_probe.settings import ProbeSettings

    settings = ProbeSettings(ollama_urls=[watched.url], host_label="box-1")
    async with create_proxy_pool(settings) as upstream_pool:
        app = create_proxy_app(settings, Keep(), upstream_pool, watched.residency)
        async with serving(app, "127.0.0.1", 0) as url:
            await watched.watcher.poll_all()
            client = ollama.AsyncClient(host=url)
            await client.generate("small", "x")
            await client.generate("small", "x")  # served once: warm even before the next poll
            watched.clock.now += 120
            await watched.watcher.poll_all()  # expired
            await client.generate("small", "x")
    assert [
        (e.cold_start, e.load_duration_ms > 0) for e in events if isinstance(e, OllamaModelMetrics)
    ] == [
        (True, True),
        (False, False),
        (True, True),
    ]


async def test_health_check_requests_are_answered_and_published(
    watched: Watched, bus_factory: BusFactory
) -> None:
    server_bus = await bus_factory(ServiceName.PROBE)
    await server_bus.serve(subjects.CONTROL_HEALTH_CHECK, watched.watcher.health_check)
    asker = await bus_factory(ServiceName.GATEWAY)
    reply = await asker.request(subjects.CONTROL_HEALTH_CHECK, HealthCheckRequest(), timeout=5)
    assert isinstance(reply, HealthCheckReply)
    [result] = reply.results
    assert (result.up, result.version, result.ollama_url) == (True, "0.12.6", watched.url)
    await watched.all_published()
    await wait_for(lambda: result in watched.of(OllamaHealth), message="the published health")


async def test_monitoring_control_stops_starts_and_retimes_the_watcher(watched: Watched) -> None:
    pause = SteppedPause()
    watcher = Watcher(
        {watched.url: "box-1"},
        watched.bus,
        watched.watcher.http_client,
        ResidencyBook(),
        60.0,
        pause=pause,
    )
    stats = watched.emulator.engine.stats
    task = asyncio.create_task(watcher.run())
    try:
        await wait_for(lambda: pause.waits == 1, message="the first poll")
        polled_once = stats["requests"]
        await pause.step()
        assert stats["requests"] > polled_once
        watcher.apply(MonitoringControl(action=MonitoringAction.STOP))
        await wait_for(lambda: pause.waits == 3, message="the watcher idling")
        stopped_at = stats["requests"]
        for _ in range(3):
            await pause.step()  # three intervals pass while stopped: not one request
        assert stats["requests"] == stopped_at
        watcher.apply(MonitoringControl(action=MonitoringAction.START, interval_seconds=0.5))
        await wait_for(lambda: stats["requests"] > stopped_at, message="polling resumed")
        await wait_for(lambda: pause.intervals[-1] == 0.5, message="the new interval")
        await wait_for(lambda: watched.of(OllamaModelsSnapshot), message="a published snapshot")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
