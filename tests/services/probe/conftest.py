"""Probe fixtures: an emulated Ollama, a real NATS bus, and the proxy served in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from ollama_emulator.app import EmulatorApp, create_app
from ollama_emulator.config import fast_config
from ollama_emulator.server import serve_app
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.events import Event, ServiceName
from ollamon_probe.http1_pool import UpstreamPool
from ollamon_probe.proxy import ProxyApp, create_proxy_app
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import serving
from ollamon_probe.settings import ProbeSettings
from ollamon_probe.upstream import create_proxy_pool
from tests.conftest import BusFactory


@dataclass
class Emulated:
    """A served emulator: URL and app (its engine counts loads, failures, cancellations)."""

    url: str
    app: EmulatorApp


@dataclass
class RunningProxy:
    """A proxy in front of the emulator, with the events it published on NATS."""

    url: str
    app: ProxyApp
    emulator: Emulated
    residency: ResidencyBook
    events: list[Event] = field(default_factory=list)


@pytest.fixture
async def emulated() -> AsyncIterator[Emulated]:
    app = create_app(fast_config())
    async with serve_app(app) as url:
        yield Emulated(url, app)


@pytest.fixture
async def probe_bus(bus_factory: BusFactory) -> Bus:
    return await bus_factory(ServiceName.PROBE)


@pytest.fixture
def probe_settings(emulated: Emulated) -> ProbeSettings:
    return ProbeSettings(ollama_urls=[emulated.url], proxy_port=0, host_label="test-host")


@pytest.fixture
async def proxy_upstream(probe_settings: ProbeSettings) -> AsyncIterator[UpstreamPool]:
    async with create_proxy_pool(probe_settings) as upstream_pool:
        yield upstream_pool


@pytest.fixture
async def proxy(
    probe_settings: ProbeSettings,
    probe_bus: Bus,
    proxy_upstream: UpstreamPool,
    emulated: Emulated,
    bus_factory: BusFactory,
) -> AsyncIterator[RunningProxy]:
    """The proxy publishing through a real bus; `events` holds what a subscriber received."""
    residency = ResidencyBook()
    app = create_proxy_app(probe_settings, probe_bus, proxy_upstream, residency)
    listener = await bus_factory(ServiceName.ALERTING)
    async with serving(app, "127.0.0.1", 0) as url:
        running = RunningProxy(url, app, emulated, residency)

        async def keep(event: Event, _msg: object) -> None:
            running.events.append(event)

        await listener.subscribe(subjects.REQUESTS_ALL, keep)
        await listener.nc.flush()
        yield running
