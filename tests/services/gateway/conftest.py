"""Gateway fixtures: settings -> bus -> app -> live server -> client; stand-in responders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from litestar import Litestar

from ollamon_alerting.service import AlertingService, running_alerting
from ollamon_alerting.settings import AlertingSettings
from ollamon_cli.nats_server import free_port
from ollamon_core.bus import Bus
from ollamon_core.events import ServiceName
from ollamon_gateway.app import create_app
from ollamon_gateway.resources import Gateway
from ollamon_gateway.server import AppServer
from ollamon_gateway.settings import GatewaySettings
from tests.conftest import BusFactory
from tests.services.gateway.stubs import Responder, serve_probe, serve_storage

SettingsFactory = Callable[..., GatewaySettings]

# Short, so "nobody answers" tests end quickly; the stand-ins answer in milliseconds.
TEST_REQUEST_TIMEOUT_SECONDS = 0.5


@pytest.fixture
def make_settings(clean_nats_url: str) -> SettingsFactory:
    """Gateway settings for tests, overridable per test."""

    def make(**overrides: object) -> GatewaySettings:
        values: dict[str, object] = {
            "nats_url": clean_nats_url,
            "host_label": "gateway-test",
            "nats_request_timeout_seconds": TEST_REQUEST_TIMEOUT_SECONDS,
            "export_timeout_seconds": TEST_REQUEST_TIMEOUT_SECONDS,
            # A known port: the allowed `Host` values name it (port 0 would be unknown).
            "gateway_port": free_port(),
            "sse_heartbeat_seconds": 5.0,
        }
        values.update(overrides)
        return GatewaySettings.model_validate(values)

    return make


@pytest.fixture
def settings(make_settings: SettingsFactory) -> GatewaySettings:
    """Default test settings (no token)."""
    return make_settings()


@pytest.fixture
async def gateway_bus(bus_factory: BusFactory) -> Bus:
    """The gateway's connection."""
    return await bus_factory(ServiceName.GATEWAY)


@pytest.fixture
async def publisher(bus_factory: BusFactory) -> Bus:
    """Another service's connection, to publish events the gateway should see."""
    return await bus_factory(ServiceName.PROBE)


@pytest.fixture
async def responder(bus_factory: BusFactory) -> AsyncIterator[Responder]:
    """A responder that answers nothing until told to."""
    stand_in = Responder(await bus_factory(ServiceName.STORAGE))
    try:
        yield stand_in
    finally:
        await stand_in.stop()


@pytest.fixture
async def storage(responder: Responder) -> Responder:
    """Storage queries answered with sample data."""
    await serve_storage(responder)
    return responder


@pytest.fixture
async def probe(bus_factory: BusFactory) -> AsyncIterator[Responder]:
    """Health checks answered: Ollama up."""
    stand_in = Responder(await bus_factory(ServiceName.PROBE))
    await serve_probe(stand_in)
    try:
        yield stand_in
    finally:
        await stand_in.stop()


@pytest.fixture
async def alerting(clean_nats_url: str) -> AsyncIterator[AlertingService]:
    """The real alerting service (it answers the management routes), fast timings."""
    alerting_settings = AlertingSettings.model_validate(
        {
            "nats_url": clean_nats_url,
            "host_label": "alerting-host",
            "for_seconds": 0,
            "resolve_seconds": 0,
            "min_requests": 5,
            "evaluation_interval_seconds": 0.05,
            "heartbeat_interval_seconds": 0.2,
        }
    )
    async with running_alerting(alerting_settings) as running:
        yield running


@pytest.fixture
def app(settings: GatewaySettings, gateway_bus: Bus) -> Litestar:
    """The gateway app on the real bus."""
    return create_app(settings, gateway_bus)


def gateway_of(app: Litestar) -> Gateway:
    """The resources an app holds."""
    gateway: Gateway = app.state.gateway
    return gateway


@pytest.fixture
async def live_server(app: Litestar) -> AsyncIterator[AppServer]:
    """The app served by uvicorn on a loopback port (for streams and real browsers)."""
    settings = gateway_of(app).settings
    server = AppServer(app, settings.gateway_host, settings.gateway_port, log_level="warning")
    await server.start()
    await gateway_of(app).bus.nc.flush()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def client(live_server: AppServer) -> AsyncIterator[httpx.AsyncClient]:
    """Real HTTP over loopback to the live gateway.

    Not Litestar's AsyncTestClient: in Litestar 2.x it runs the app through a blocking
    portal on another thread and event loop, where the bus (bound to this loop) cannot work.
    """
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        yield http
