"""/metrics fed by the real proxy over NATS: a request in flight shows in
`ollamon_requests_in_flight` while it streams, and once its client leaves it is counted as
`outcome="cancelled"` (read back with prometheus-client's parser)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ollama_emulator.app import create_app
from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.server import serve_app
from ollamon_core.bus import Bus
from ollamon_probe.in_flight import publish_in_flight
from ollamon_probe.proxy import create_proxy_app
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import serving
from ollamon_probe.settings import ProbeSettings
from ollamon_probe.upstream import create_proxy_pool
from tests.support.waiting import wait_for_async

HOST = "proxy-host"
MODEL = "slow:latest"


def metric(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


async def test_a_streaming_request_is_in_flight_then_counted_cancelled_when_its_client_leaves(
    client: httpx.AsyncClient, publisher: Bus, clean_nats_url: str, tmp_path: Path
) -> None:
    slow = ModelSpec(name=MODEL, tokens_per_second=20, response_tokens=200, load_time_ms=0)
    emulator = create_app(EmulatorConfig(models=[slow]))
    labels = {"model": MODEL, "host": HOST}
    scraped = ""

    async def scrape() -> str:
        nonlocal scraped
        scraped = (await client.get("/metrics")).text
        return scraped

    async with serve_app(emulator) as upstream:
        settings = ProbeSettings(
            nats_url=clean_nats_url,
            ollama_urls=[upstream],
            host_label=HOST,
            spool_path=tmp_path / "spool",
        )
        pool = create_proxy_pool(settings)
        app = create_proxy_app(settings, publisher, pool, ResidencyBook())
        counts = asyncio.create_task(
            publish_in_flight(app.in_flight, app.origin, publisher.publish, 0.2, 0.05)
        )
        try:
            async with pool, serving(app, "127.0.0.1", 0) as url, httpx.AsyncClient() as http:
                body = {"model": MODEL, "prompt": "a long story"}
                async with http.stream("POST", f"{url}/api/generate", json=body) as reply:
                    # Held, not broken out of: an abandoned line iterator is closed by the
                    # loop soon after, which closes the stream before the count is read.
                    lines = reply.aiter_lines()
                    await anext(lines)
                    await wait_for_metric(scrape, "ollamon_requests_in_flight", 1, labels)
                # The client left mid-stream.
                await wait_for_metric(
                    scrape, "ollamon_requests_total", 1, {**labels, "outcome": "cancelled"}
                )
                await wait_for_metric(scrape, "ollamon_requests_in_flight", 0, labels)
        finally:
            counts.cancel()
    assert metric(scraped, "ollamon_requests_total", outcome="success", **labels) is None


async def wait_for_metric(
    scrape: Callable[[], Awaitable[str]], name: str, expected: float, labels: dict[str, str]
) -> None:
    async def reached() -> bool:
        return metric(await scrape(), name, **labels) == expected

    await wait_for_async(reached, timeout=5, message=f"{name}{labels} == {expected}")
