"""Storage, the probe and the gateway in this process, in front of an emulator the test
serves (and may restart) on a fixed port: what a benchmark run goes through."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollamon_cli.nats_server import free_port
from ollamon_core.events import ServiceName
from ollamon_gateway.app import create_app as create_gateway
from ollamon_gateway.server import AppServer
from ollamon_gateway.settings import GatewaySettings
from ollamon_probe.service import running_probe
from ollamon_probe.settings import ProbeSettings
from ollamon_storage.service import running_storage
from tests.conftest import BusFactory
from tests.services.storage.conftest import make_settings as storage_settings
from tests.services.storage.conftest import wait_for_ready

BENCHMARKS = "/api/ai/ollama/performance/benchmarks"


def ollama(version: str, *models: ModelSpec, eval_speed: float = 1.0) -> EmulatorConfig:
    """The emulator's server, as `python -m ollama_emulator --ollama-version V --eval-speed F`."""
    config = EmulatorConfig(version=version, models=list(models))
    return config if eval_speed == 1.0 else config.with_eval_speed(eval_speed)


@dataclass(frozen=True)
class BenchmarkStack:
    """Where the in-process services listen."""

    gateway_url: str
    client: httpx.AsyncClient


@contextlib.asynccontextmanager
async def benchmark_stack(
    nats_url: str, bus_factory: BusFactory, folder: Path, *, ollama_port: int, host: str
) -> AsyncIterator[BenchmarkStack]:
    """Storage, the gateway, then the probe (host label `host`) of `127.0.0.1:ollama_port`."""
    storage = storage_settings(folder / "data", nats_url)
    gateway_settings = GatewaySettings.model_validate(
        {"nats_url": nats_url, "host_label": "hub", "gateway_port": free_port()}
    )
    probe = ProbeSettings.model_validate(
        {
            "nats_url": nats_url,
            "ollama_urls": [f"http://127.0.0.1:{ollama_port}"],
            "proxy_port": free_port(),
            "host_label": host,
            "monitoring_interval_seconds": 0.5,
            "spool_path": folder / "spool",
        }
    )
    bus = await bus_factory(ServiceName.GATEWAY)
    app = await asyncio.to_thread(create_gateway, gateway_settings, bus)  # reads static files
    server = AppServer(
        app, gateway_settings.gateway_host, gateway_settings.gateway_port, log_level="warning"
    )
    async with running_storage(storage):
        await wait_for_ready(storage)
        await server.start()
        try:
            async with (
                httpx.AsyncClient(base_url=server.url, timeout=10) as client,
                running_probe(probe),
            ):
                yield BenchmarkStack(server.url, client)
        finally:
            await server.stop()
