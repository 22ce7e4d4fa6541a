"""A whole probe (`running_probe`) in front of an emulator whose models differ in speed,
for the benchmark's tests (the probe's and the command line's)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from ollama_emulator.app import create_app
from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.server import serve_app
from ollamon_cli.nats_server import free_port
from ollamon_core import subjects
from ollamon_core.bus import Bus
from ollamon_core.bus.requests import QueryFailedError
from ollamon_core.bus.wire import ERROR_HEADER, encode
from ollamon_core.events import BenchmarkAccepted, BenchmarkRequest
from ollamon_core.events.queries import QueryError
from ollamon_probe.service import running_probe
from ollamon_probe.settings import ProbeSettings

HOST = "bench-host"
ANSWER_WAIT_SECONDS = 5.0


def ranked_config(version: str = "0.12.6") -> EmulatorConfig:
    """Two chat models, one three times as fast as the other (the slow one partly on the
    CPU), and an embedding model."""
    return EmulatorConfig(
        version=version,
        models=[
            ModelSpec(
                name="steady:7b",
                parameter_size="7.6B",
                quantization_level="Q4_K_M",
                tokens_per_second=300.0,
                load_time_ms=120.0,
                size_bytes=6_000_000_000,
                size_vram_bytes=4_000_000_000,
            ),
            ModelSpec(name="swift:1b", tokens_per_second=900.0, load_time_ms=60.0),
            ModelSpec(name="embed-mini:latest", family="nomic-bert", load_time_ms=20.0),
        ],
    )


@contextlib.asynccontextmanager
async def probe_in_front_of(
    nats_url: str, folder: Path, ollama_url: str, **settings: object
) -> AsyncIterator[ProbeSettings]:
    """Run a probe in front of the server at `ollama_url` until the block ends."""
    probe_settings = ProbeSettings.model_validate(
        {
            "nats_url": nats_url,
            "ollama_urls": [ollama_url],
            "proxy_port": free_port(),
            "host_label": HOST,
            "monitoring_interval_seconds": 0.5,
            "spool_path": folder / "spool",
            **settings,
        }
    )
    async with running_probe(probe_settings):
        yield probe_settings


@contextlib.asynccontextmanager
async def benchmark_probe(
    nats_url: str, folder: Path, config: EmulatorConfig | None = None, **settings: object
) -> AsyncIterator[ProbeSettings]:
    """Serve the emulator and run a probe in front of it until the block ends."""
    async with (
        serve_app(create_app(config or ranked_config())) as ollama_url,
        probe_in_front_of(nats_url, folder, ollama_url, **settings) as probe_settings,
    ):
        yield probe_settings


async def raw_request(
    nc: NatsClient, data: bytes, subject: str = subjects.CONTROL_BENCHMARK.subject
) -> Msg:
    """Send `data` to the probe's benchmark route (any probe's by default); "no responders"
    is asked again (the probe's interest once reached the server only after a first
    request)."""
    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    while True:
        try:
            return await nc.request(subject, data, timeout=10)
        except nats.errors.NoRespondersError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def ask(bus: Bus, request: BenchmarkRequest) -> BenchmarkAccepted:
    """Ask the probe for a run (as `raw_request` does, typed), on the route of the host it
    names, as the gateway and the command line do."""
    route = subjects.benchmark_route(request.host)
    reply = await raw_request(bus.nc, encode(request), route.subject)
    if reply.headers and reply.headers.get(ERROR_HEADER):
        raise QueryFailedError(QueryError.model_validate_json(reply.data))
    return BenchmarkAccepted.model_validate_json(reply.data)
