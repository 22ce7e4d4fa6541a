"""The gateway serves under the limits of its settings (`OLLAMON_GATEWAY_MAX_HEADER_BYTES`,
...): huge and slow heads, stalled bodies and connections over the cap are cut off while the
dashboard's clients are answered, and each refusal is a heartbeat counter. How the limits
work: tests/libs/http/."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from ollamon_core.bus import Bus
from ollamon_gateway.app import create_app
from ollamon_gateway.server import AppServer, gateway_limits
from tests.services.gateway.conftest import SettingsFactory
from tests.support.hostile_clients import (
    Slowloris,
    StalledBody,
    host_and_port,
    huge_head,
)

METRICS = "/metrics"  # answered by the gateway alone


@contextlib.asynccontextmanager
async def limited_gateway(
    make_settings: SettingsFactory, gateway_bus: Bus, **limits: object
) -> AsyncIterator[AppServer]:
    settings = make_settings(**limits)
    app = await asyncio.to_thread(create_app, settings, gateway_bus)  # reads the dashboard
    server = AppServer(
        app,
        settings.gateway_host,
        settings.gateway_port,
        log_level="warning",
        limits=gateway_limits(settings),
        counters=gateway_bus.counters,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def gateway(make_settings: SettingsFactory, gateway_bus: Bus) -> AsyncIterator[AppServer]:
    async with limited_gateway(
        make_settings,
        gateway_bus,
        gateway_max_header_bytes=4096,
        gateway_header_timeout_seconds=0.5,
        gateway_body_idle_timeout_seconds=0.5,
    ) as server:
        yield server


async def test_a_huge_head_and_a_slowloris_are_cut_while_the_gateway_answers(
    gateway: AppServer, gateway_bus: Bus
) -> None:
    huge = await huge_head(gateway.url, 2 * 1024 * 1024, path=METRICS)
    slow = Slowloris(gateway.url).start()
    answered = 0
    try:
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            while not slow.ending.reply and not slow.ending.reset:
                assert (await client.get(METRICS)).status_code == 200
                answered += 1
        slowloris = await slow.cut()
    finally:
        slow.stop()
    print(f"huge head: {huge.status}; slowloris: {slowloris.status}; {answered} answered")
    assert huge.status in (431, None)
    assert slowloris.status == 408
    assert answered >= 1
    assert gateway_bus.counters["http_oversized_heads"] == 1
    assert gateway_bus.counters["http_head_timeouts"] == 1


async def test_a_stalled_post_body_gets_408(gateway: AppServer, gateway_bus: Bus) -> None:
    stalled = StalledBody(
        gateway.url, "/api/ai/ollama/performance/cleanup", 1000, b'{"days_to_keep": '
    ).start()
    ending = await stalled.cut()
    assert ending.status == 408
    assert gateway_bus.counters["http_body_timeouts"] == 1


async def test_at_the_connection_cap_an_idle_connection_makes_room_for_a_new_one(
    make_settings: SettingsFactory, gateway_bus: Bus
) -> None:
    async with limited_gateway(make_settings, gateway_bus, gateway_max_connections=2) as server:
        idle = [await asyncio.open_connection(*host_and_port(server.url)) for _ in range(2)]
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{server.url}{METRICS}")).status_code == 200
        for _, writer in idle:
            writer.close()
    assert gateway_bus.counters["http_shed_connections"] == 1
