"""Messages that hold a URL's password (as an old or broken probe would send them) reach no
gateway reply: not the stream, /status, the health check, /metrics."""

from __future__ import annotations

import asyncio
import json

import httpx
from litestar import Litestar
from nats.aio.msg import Msg

from ollamon_core import subjects
from ollamon_core.bus import Bus
from tests.services.gateway.conftest import gateway_of
from tests.services.gateway.sse_reader import SseMessage, messages
from tests.support.waiting import wait_for

PASSWORD = "s3cret-pw"
SECRET_URL = f"http://admin:{PASSWORD}@127.0.0.1:11434"
SHOWN_URL = "http://127.0.0.1:11434"
MARKER = "marker-model:7b"
API = "/api/ai/ollama/performance"
STREAM = f"{API}/stream"


def leaky_health() -> bytes:
    return json.dumps(
        {
            "kind": "health",
            "host": "box-1",
            "ollama_url": SECRET_URL,
            "up": False,
            "error_message": f"401 for url '{SECRET_URL}/api/version'",
        }
    ).encode()


def leaky_lifecycle() -> bytes:
    return json.dumps(
        {
            "kind": "lifecycle",
            "host": "box-1",
            "ollama_url": SECRET_URL,
            "model_name": MARKER,
            "change": "loaded",
        }
    ).encode()


async def stream_events(
    client: httpx.AsyncClient, app: Litestar, publisher: Bus
) -> list[SseMessage]:
    """Open the stream, publish the leaky messages as raw bytes, read their two events."""
    fanout = gateway_of(app).fanout
    before = fanout.clients_connected_total
    received: list[SseMessage] = []
    async with client.stream("GET", STREAM) as response:
        reader = messages(response)
        await asyncio.wait_for(anext(reader), 10)  # "connected"
        await wait_for(lambda: fanout.clients_connected_total > before)
        await publisher.nc.publish(subjects.OLLAMA_HEALTH, leaky_health())
        await publisher.nc.publish(subjects.OLLAMA_LIFECYCLE, leaky_lifecycle())

        async def read_two() -> None:
            async for message in reader:
                if message.event is not None:
                    received.append(message)
                    if len(received) == 2:
                        return

        await asyncio.wait_for(read_two(), 10)
    return received


async def test_the_stream_status_and_metrics_never_show_the_password(
    client: httpx.AsyncClient, app: Litestar, publisher: Bus
) -> None:
    received = await stream_events(client, app, publisher)
    assert [message.event for message in received] == ["health", "lifecycle"]
    stream_text = "\n".join("\n".join(message.data_lines) for message in received)
    assert MARKER in stream_text and SHOWN_URL in stream_text  # the search sees the events
    assert PASSWORD not in stream_text
    status = await client.get(f"{API}/status")
    metrics = await client.get("/metrics")
    assert status.json()["ollama"][0]["ollama_url"] == SHOWN_URL
    assert f'ollamon_ollama_up{{host="box-1",url="{SHOWN_URL}"}} 0.0' in metrics.text
    for reply in (status, metrics):
        assert PASSWORD not in reply.text


async def test_a_health_reply_holding_the_password_is_returned_without_it(
    client: httpx.AsyncClient, publisher: Bus
) -> None:
    async def answer(msg: Msg) -> None:
        await msg.respond(b'{"results": [' + leaky_health() + b"]}")

    await publisher.nc.subscribe(subjects.CONTROL_HEALTH_CHECK.subject, cb=answer)
    await publisher.nc.flush()
    reply = await client.get("/api/ai/ollama/health")
    assert reply.status_code == 200, reply.text
    assert reply.json()["results"][0]["ollama_url"] == SHOWN_URL
    assert PASSWORD not in reply.text
