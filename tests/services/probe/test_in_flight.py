"""The probe's requests in flight: counted per model while the proxy serves them, sent on
change (a burst is one event) and while busy, then once empty; and through a running probe
over NATS to the gateway's subject."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import ollama

from ollama_emulator.app import create_app
from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.server import serve_app
from ollamon_cli.nats_server import free_port
from ollamon_core import subjects
from ollamon_core.events import (
    IN_FLIGHT_OTHER,
    MAX_IN_FLIGHT_MODELS,
    UNKNOWN_MODEL,
    InFlightRequests,
    ServiceName,
)
from ollamon_probe.exchange import Exchange
from ollamon_probe.in_flight import InFlightBook, publish_in_flight
from ollamon_probe.request_event import Origin
from ollamon_probe.service import running_probe
from ollamon_probe.settings import ProbeSettings
from tests.conftest import BusFactory
from tests.support.waiting import wait_for

ORIGIN = Origin("http://127.0.0.1:11434", "in-flight-host")


def exchange_for(model: str | None) -> Exchange:
    exchange = Exchange(0.0, "/api/generate")
    if model is not None:
        exchange.body.feed(f'{{"model": "{model}", "prompt": "hi"}}'.encode())
    return exchange


def test_requests_are_counted_per_model_once_their_body_tells_it() -> None:
    book = InFlightBook()
    first, second, third = exchange_for("a:1b"), exchange_for("a:1b"), exchange_for(None)
    for exchange in (first, second, third):
        book.start(exchange)
    assert book.by_model() == {"a:1b": 2, UNKNOWN_MODEL: 1}
    third.body.feed(b'{"model": "b:7b"}')
    assert book.by_model() == {"a:1b": 2, "b:7b": 1}
    book.end(first)
    book.end(third)
    assert book.by_model() == {"a:1b": 1}
    book.end(second)
    assert book.by_model() == {}


def test_model_names_past_the_cap_are_counted_together() -> None:
    book = InFlightBook()
    for index in range(MAX_IN_FLIGHT_MODELS + 5):
        book.start(exchange_for(f"m{index}"))
    counts = book.by_model()
    assert len(counts) == MAX_IN_FLIGHT_MODELS + 1
    assert counts[IN_FLIGHT_OTHER] == 5
    assert sum(counts.values()) == MAX_IN_FLIGHT_MODELS + 5


async def test_a_burst_is_one_event_counts_repeat_while_busy_and_one_empty_event_ends_it() -> None:
    book = InFlightBook()
    sent: list[InFlightRequests] = []

    async def publish(event: InFlightRequests) -> None:
        sent.append(event)

    task = asyncio.create_task(publish_in_flight(book, ORIGIN, publish, 0.2, 0.1))
    try:
        burst = [exchange_for("a:1b") for _ in range(50)]
        for exchange in burst:
            book.start(exchange)
        await wait_for(lambda: len(sent) >= 1, message="the burst's event")
        assert sent[0].by_model == {"a:1b": 50}
        assert (sent[0].host, sent[0].interval_seconds) == ("in-flight-host", 0.2)
        await wait_for(lambda: len(sent) >= 3, message="repeats while busy")
        assert {tuple(event.by_model.items()) for event in sent} == {(("a:1b", 50),)}
        for exchange in burst:
            book.end(exchange)
        await wait_for(lambda: sent[-1].by_model == {}, message="the empty event")
        settled = len(sent)
        await asyncio.sleep(0.6)  # idle: nothing more
        assert len(sent) == settled
        assert len([event for event in sent if not event.by_model]) == 1
    finally:
        task.cancel()


async def test_a_running_probe_sends_the_request_in_flight_then_none(
    tmp_path: Path, clean_nats_url: str, bus_factory: BusFactory
) -> None:
    listener = await bus_factory(ServiceName.GATEWAY)
    seen: list[InFlightRequests] = []

    async def keep(event: Any, _msg: object) -> None:
        seen.append(event)

    await listener.subscribe(subjects.IN_FLIGHT, keep)
    slow = EmulatorConfig(models=[ModelSpec(name="slow:latest", time_to_first_token_ms=1500)])
    async with serve_app(create_app(slow)) as ollama_url:
        settings = ProbeSettings(
            nats_url=clean_nats_url,
            ollama_urls=[ollama_url],
            proxy_port=free_port(),
            host_label="in-flight-host",
            monitoring_interval_seconds=0.2,
            spool_path=tmp_path / "spool",
        )
        async with running_probe(settings):
            client = ollama.AsyncClient(host=f"http://127.0.0.1:{settings.proxy_port}")
            request = asyncio.create_task(client.generate("slow:latest", "take your time"))
            await wait_for(
                lambda: any(event.by_model == {"slow:latest": 1} for event in seen),
                timeout=5,
                message="the request in flight",
            )
            assert not request.done()
            await request
            await wait_for(
                lambda: seen[-1].by_model == {}, timeout=5, message="no request in flight"
            )
    assert {event.host for event in seen} == {"in-flight-host"}
