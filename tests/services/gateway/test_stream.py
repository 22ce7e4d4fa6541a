"""The SSE stream over real HTTP: typed events, replay, heartbeats, slow clients, disconnects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from ollamon_core.bus import Bus
from ollamon_core.events import (
    AlertAudit,
    AlertState,
    AuditAction,
    CatalogModel,
    DeliveryOutcome,
    Event,
    Heartbeat,
    LifecycleChange,
    ModelLifecycleEvent,
    ModelScore,
    NotificationDelivery,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    ReceiverKind,
    ServiceName,
    utc_now,
)
from ollamon_gateway.server import AppServer
from ollamon_gateway.settings import GatewaySettings
from tests.services.gateway.conftest import SettingsFactory, gateway_of
from tests.services.gateway.sse_reader import SseMessage, messages
from tests.services.gateway.stubs import MODEL_WITH_NAMESPACE, firing_alert, system_sample
from tests.support.waiting import wait_for

STREAM = "/api/ai/ollama/performance/stream"
READ_TIMEOUT_SECONDS = 10.0


@pytest.fixture
def settings(make_settings: SettingsFactory) -> GatewaySettings:
    return make_settings(sse_heartbeat_seconds=0.3, sse_client_queue_size=20)


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, app: Litestar, headers: dict[str, str] | None = None
) -> AsyncIterator[AsyncIterator[SseMessage]]:
    """Open the stream, wait for the gateway to register the client, yield its messages."""
    fanout = gateway_of(app).fanout
    before = fanout.clients_connected_total
    async with client.stream("GET", STREAM, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = messages(response)
        first = await asyncio.wait_for(anext(reader), READ_TIMEOUT_SECONDS)
        assert "connected" in first.comments
        await wait_for(lambda: fanout.clients_connected_total > before)
        yield reader


async def next_events(reader: AsyncIterator[SseMessage], count: int) -> list[SseMessage]:
    """The next `count` events, skipping heartbeat comments."""
    events: list[SseMessage] = []

    async def read() -> None:
        async for message in reader:
            if message.event is not None:
                events.append(message)
                if len(events) == count:
                    return

    await asyncio.wait_for(read(), READ_TIMEOUT_SECONDS)
    return events


def one_of_each() -> list[tuple[str, Event]]:
    now = utc_now()
    return [
        ("request", OllamaModelMetrics(model_name=MODEL_WITH_NAMESPACE, response_time_ms=812.0)),
        ("system", system_sample()),
        ("alert", firing_alert()),
        ("score", ModelScore(model_name=MODEL_WITH_NAMESPACE, score=6.5)),
        (
            "lifecycle",
            ModelLifecycleEvent(
                ollama_url="http://o:11434", model_name="m:1b", change=LifecycleChange.LOADED
            ),
        ),
        ("health", OllamaHealth(ollama_url="http://o:11434", up=True, version="0.12.3")),
        ("models", OllamaModelsSnapshot(ollama_url="http://o:11434")),
        (
            "heartbeat",
            Heartbeat(service=ServiceName.COLLECTOR, version="0.1.0", pid=7, started_at=now),
        ),
        ("audit", AlertAudit(action=AuditAction.ALERT_ACKNOWLEDGED, author="ops", rule="x")),
        (
            "notification",
            NotificationDelivery(
                receiver="ops",
                receiver_kind=ReceiverKind.WEBHOOK,
                fingerprint="fp",
                alert_type="slow_response",
                alert_state=AlertState.FIRING,
                attempt=1,
                outcome=DeliveryOutcome.DELIVERED,
                status_code=200,
                latency_ms=4.0,
            ),
        ),
    ]


async def test_live_events_arrive_typed_with_increasing_ids(
    client: httpx.AsyncClient, app: Litestar, publisher: Bus
) -> None:
    sent = one_of_each()
    async with open_stream(client, app) as reader:
        for _, event in sent:
            await publisher.publish(event)
        received = await next_events(reader, len(sent))
    assert [message.event for message in received] == [kind for kind, _ in sent]
    assert [message.data["event_id"] for message in received] == [e.event_id for _, e in sent]
    ids = [message.id or 0 for message in received]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert received[0].data["model_name"] == MODEL_WITH_NAMESPACE


async def test_requests_and_system_samples_stream_whole_though_compact_on_the_bus(
    client: httpx.AsyncClient, app: Litestar, publisher: Bus
) -> None:
    request = OllamaModelMetrics(model_name="m", response_time_ms=5.0)
    sample = system_sample()
    await publisher.publish(request)  # buffered before the client came: replayed whole too
    await wait_for(lambda: gateway_of(app).fanout.frames_published >= 1)
    first = gateway_of(app).fanout.replay_after(0)[0].sequence
    async with open_stream(client, app, headers={"Last-Event-ID": str(first - 1)}) as reader:
        await publisher.publish(sample)
        received = await next_events(reader, 2)
    assert [message.data for message in received] == [
        json.loads(request.model_dump_json()),
        json.loads(sample.model_dump_json()),
    ]


async def test_last_event_id_replays_the_events_missed(
    client: httpx.AsyncClient, app: Litestar, publisher: Bus
) -> None:
    fanout = gateway_of(app).fanout
    sent = [OllamaModelMetrics(model_name=f"m{n}", response_time_ms=n) for n in range(4)]
    for event in sent:
        await publisher.publish(event)
    await wait_for(lambda: fanout.frames_published >= 4, message="events buffered")
    [first, *_] = fanout.replay_after(0)
    async with open_stream(client, app, headers={"Last-Event-ID": str(first.sequence)}) as reader:
        replayed = await next_events(reader, 3)
    assert [message.data["model_name"] for message in replayed] == ["m1", "m2", "m3"]
    assert replayed[0].id == first.sequence + 1


async def test_a_bad_last_event_id_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(STREAM, headers={"Last-Event-ID": "yesterday"})
    assert response.status_code == 400
    assert "last_event_id" in response.text


async def test_an_idle_stream_sends_comment_heartbeats(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    async with open_stream(client, app) as reader:
        message = await asyncio.wait_for(anext(reader), READ_TIMEOUT_SECONDS)
    assert message.event is None
    assert message.comments == ["heartbeat"]


async def test_a_disconnected_client_is_forgotten_at_once(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    fanout = gateway_of(app).fanout
    async with open_stream(client, app):
        assert fanout.client_count == 1
    await wait_for(lambda: fanout.client_count == 0, timeout=2, message="client discarded")


async def test_closing_the_fanout_ends_open_streams(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    async with open_stream(client, app) as reader:
        gateway_of(app).fanout.close()

        async def drain() -> None:
            async for _ in reader:
                pass

        await asyncio.wait_for(drain(), READ_TIMEOUT_SECONDS)


def big_snapshot(index: int) -> OllamaModelsSnapshot:
    """About 40 kB of JSON, so a reader that stops reading fills its socket quickly."""
    return OllamaModelsSnapshot(
        ollama_url=f"http://o:11434/{index}",
        available=[CatalogModel(name=f"model-{n:04d}:latest" + "x" * 100) for n in range(300)],
    )


async def test_a_slow_client_loses_its_oldest_events_and_a_fast_one_loses_none(
    client: httpx.AsyncClient, app: Litestar, live_server: AppServer, publisher: Bus
) -> None:
    fanout = gateway_of(app).fanout
    # The slow client: connects, asks for the stream, never reads.
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(slow, ("127.0.0.1", live_server.port))
    await loop.sock_sendall(
        slow, f"GET {STREAM} HTTP/1.1\r\nHost: 127.0.0.1:{live_server.port}\r\n\r\n".encode()
    )
    await wait_for(lambda: fanout.client_count == 1, message="slow client registered")
    try:
        async with open_stream(client, app) as fast:
            received: list[SseMessage] = []
            for batch in range(60):
                # Batches smaller than a client queue, so only a client that stopped loses.
                for index in range(10):
                    await publisher.publish(big_snapshot(batch * 10 + index))
                received.extend(await next_events(fast, 10))
                if fanout.frames_dropped > 0:
                    break
            assert fanout.frames_dropped > 0, "the slow client never fell behind"
            ids = [message.id or 0 for message in received]
            assert ids == list(range(ids[0], ids[0] + len(ids))), "the fast client lost events"
            assert len(received) == (batch + 1) * 10
    finally:
        slow.close()
    await wait_for(lambda: fanout.client_count == 0, timeout=10, message="slow client discarded")
