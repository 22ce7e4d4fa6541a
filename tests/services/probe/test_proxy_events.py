"""Every measured request publishes one event whose fields match what Ollama sent."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import ollama
import pytest

from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollamon_core.bus import Bus
from ollamon_core.events import UNKNOWN_MODEL, OllamaModelMetrics, TokenSource
from ollamon_probe.proxy import create_proxy_app
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import serving
from ollamon_probe.settings import ProbeSettings
from ollamon_probe.upstream import create_proxy_pool
from tests.services.probe.conftest import RunningProxy
from tests.support.waiting import wait_for


def metrics(proxy: RunningProxy, count: int = 1) -> list[OllamaModelMetrics]:
    return [event for event in proxy.events if isinstance(event, OllamaModelMetrics)][:count]


async def received(proxy: RunningProxy, count: int = 1) -> list[OllamaModelMetrics]:
    await wait_for(
        lambda: len(metrics(proxy, count)) >= count, timeout=5, message=f"{count} events"
    )
    return metrics(proxy, count)


async def test_a_streamed_generate_event_matches_the_final_chunk_field_by_field(
    proxy: RunningProxy,
) -> None:
    body = {
        "model": "llama3.2:1b",
        "prompt": "three word prompt",
        "options": {"temperature": 0.4, "top_p": 0.7, "num_ctx": 1024, "seed": 9},
    }
    async with httpx.AsyncClient(base_url=proxy.url) as http:
        reply = await http.post("/api/generate", content=json.dumps(body).encode())
    lines = reply.text.splitlines()
    final = json.loads(lines[-1])
    [event] = await received(proxy)
    assert event.host == "test-host"
    assert event.ollama_url == proxy.emulator.url
    assert (event.endpoint, event.method, event.status_code) == ("/api/generate", "POST", 200)
    assert (event.model_name, event.streamed, event.cancelled) == ("llama3.2:1b", True, False)
    assert event.tokens_generated == final["eval_count"] == 12
    assert event.tokens_input == final["prompt_eval_count"] == 3
    assert event.eval_duration_ms == final["eval_duration"] / 1e6
    assert event.load_duration_ms == final["load_duration"] / 1e6 > 0
    assert event.prompt_eval_duration_ms == final["prompt_eval_duration"] / 1e6
    assert event.total_duration_ms == final["total_duration"] / 1e6
    assert event.tokens_per_second == pytest.approx(
        final["eval_count"] / final["eval_duration"] * 1e9
    )
    assert event.prompt_tokens_per_second == pytest.approx(
        final["prompt_eval_count"] / final["prompt_eval_duration"] * 1e9
    )
    assert event.done_reason == final["done_reason"] == "stop"
    assert (event.temperature, event.top_p, event.num_ctx, event.context_length) == (
        0.4,
        0.7,
        1024,
        1024,
    )
    assert event.context_utilization_percent == pytest.approx(15 / 1024 * 100, abs=1e-3)
    assert event.chunk_count >= 1
    assert event.response_bytes == len(reply.content)
    assert event.request_bytes == len(json.dumps(body).encode())
    assert event.time_to_first_token_ms is not None
    assert 0 < event.time_to_first_token_ms <= event.response_time_ms
    assert event.response_time_ms >= event.total_duration_ms
    assert not event.error_occurred
    assert event.cold_start is None  # no watcher has polled in this test


async def test_non_streamed_chat_and_embed_give_events_too(proxy: RunningProxy) -> None:
    client = ollama.AsyncClient(host=proxy.url)
    chat = await client.chat("qwen2.5:7b", messages=[{"role": "user", "content": "a b"}])
    embedded = await client.embed(model="nomic-embed-text", input=["x y", "z"])
    await client.embeddings(model="nomic-embed-text", prompt="x")
    await client.list()  # not a measured endpoint: no event
    chat_event, embed_event, embeddings_event = await received(proxy, 3)
    assert (chat_event.endpoint, chat_event.streamed) == ("/api/chat", False)
    assert chat_event.time_to_first_token_ms is None
    assert chat_event.tokens_generated == chat.eval_count
    assert chat_event.done_reason == chat.done_reason
    assert (embed_event.endpoint, embed_event.tokens_input) == (
        "/api/embed",
        embedded.prompt_eval_count,
    )
    assert embed_event.total_duration_ms == (embedded.total_duration or 0) / 1e6
    assert embeddings_event.endpoint == "/api/embeddings"
    # The proxy decides at the start of a request whether it is measured: all four went
    # through, three were measured, so no event is still on its way.
    counters = proxy.app.counters
    assert (counters["proxied_requests"], counters["measured_requests"]) == (4, 3)
    assert len(metrics(proxy, 10)) == 3


async def test_an_error_line_under_status_200_is_a_failed_event(proxy: RunningProxy) -> None:
    client = ollama.AsyncClient(host=proxy.url)
    with pytest.raises(ollama.ResponseError):
        async for _ in await client.generate("flaky", "x", stream=True):
            pass
    [event] = await received(proxy)
    assert (event.status_code, event.error_occurred) == (200, True)
    assert event.error_message == "llama runner process has terminated: exit status 2"
    # The 3 tokens streamed before the error are counted (the error line has no count).
    assert (event.tokens_generated, event.token_source) == (3, TokenSource.COUNTED)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            b'{"model": "missing:1b", "prompt": "x"}',
            404,
            'model "missing:1b" not found, try pulling it first',
        ),
        (b'{"model": "broken", "prompt": "x", "stream": false}', 500, "model crashed"),
        (b'{"prompt": "x"}', 400, "model is required"),
    ],
)
async def test_error_replies_give_failed_events_with_the_reason(
    proxy: RunningProxy, body: bytes, status: int, message: str
) -> None:
    async with httpx.AsyncClient(base_url=proxy.url) as http:
        reply = await http.post("/api/generate", content=body)
    [event] = await received(proxy)
    assert reply.status_code == status
    assert (event.status_code, event.error_occurred, event.error_message) == (status, True, message)


async def test_the_openai_stream_event_counts_usage_tokens(proxy: RunningProxy) -> None:
    async with httpx.AsyncClient(base_url=proxy.url) as http:
        reply = await http.post(
            "/v1/chat/completions",
            json={
                "model": "llama3.2:1b",
                "messages": [{"role": "user", "content": "hi there"}],
                "stream": True,
                "stream_options": {"include_usage": True},
                "temperature": 0.9,
            },
        )
    usage = json.loads(reply.text.split("\n\n")[-3].removeprefix("data: "))["usage"]
    [event] = await received(proxy)
    assert (event.endpoint, event.streamed) == ("/v1/chat/completions", True)
    assert (event.tokens_input, event.tokens_generated) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    assert event.temperature == 0.9
    assert event.done_reason == "stop"
    assert event.tokens_per_second is not None


async def test_a_client_leaving_mid_stream_cancels_upstream_and_records_499(
    probe_settings: ProbeSettings, probe_bus: Bus
) -> None:
    from ollama_emulator.app import create_app
    from ollama_emulator.server import serve_app

    slow = ModelSpec(name="slow:latest", tokens_per_second=20, response_tokens=200, load_time_ms=0)
    emulator = create_app(EmulatorConfig(models=[slow]))
    events: list[Any] = []

    class Keep:
        def emit(self, event: Any) -> bool:
            events.append(event)
            return True

    async with serve_app(emulator) as upstream:
        settings = probe_settings.model_copy(update={"ollama_urls": [upstream]})
        upstream_pool = create_proxy_pool(settings)
        app = create_proxy_app(settings, Keep(), upstream_pool, ResidencyBook())
        async with (
            upstream_pool,
            serving(app, "127.0.0.1", 0) as url,
            httpx.AsyncClient(base_url=url) as http,
        ):
            request = {"model": "slow", "prompt": "x"}
            async with http.stream("POST", "/api/generate", json=request) as reply:
                async for _ in reply.aiter_lines():
                    break
            await wait_for(lambda: events, timeout=5, message="the cancelled event")
            await wait_for(
                lambda: emulator.engine.stats["cancelled"] == 1,
                timeout=5,
                message="upstream cancel",
            )
    [event] = events
    assert (event.status_code, event.cancelled, event.error_occurred) == (499, True, False)
    assert event.model_name == "slow"
    assert event.response_time_ms < 5000  # 200 tokens at 20/s would take 10 s
    assert emulator.engine.stats["completed"] == 0
    assert app.counters["cancelled_requests"] == 1


async def test_ollama_down_gives_502_and_a_failed_event(
    probe_settings: ProbeSettings, probe_bus: Bus
) -> None:
    settings = probe_settings.model_copy(update={"ollama_urls": ["http://127.0.0.1:9"]})
    received_events: list[Any] = []

    class Keep:
        def emit(self, event: Any) -> bool:
            received_events.append(event)
            return True

    upstream_pool = create_proxy_pool(settings)
    app = create_proxy_app(settings, Keep(), upstream_pool, ResidencyBook())
    async with upstream_pool, serving(app, "127.0.0.1", 0) as url:
        client = ollama.AsyncClient(host=url)
        with pytest.raises(ollama.ResponseError) as raised:
            await client.chat("llama3.2:1b", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 502
    assert "could not reach Ollama" in raised.value.error
    [event] = received_events
    assert (event.status_code, event.error_occurred, event.model_name) == (502, True, "llama3.2:1b")
    assert "could not reach Ollama" in (event.error_message or "")


async def test_streamed_chunks_pass_through_as_they_arrive(
    probe_settings: ProbeSettings, probe_bus: Bus
) -> None:
    from ollama_emulator.app import create_app
    from ollama_emulator.server import serve_app

    slow = ModelSpec(name="slow:latest", tokens_per_second=10, response_tokens=8, load_time_ms=0)
    async with serve_app(create_app(EmulatorConfig(models=[slow]))) as upstream:
        settings = probe_settings.model_copy(update={"ollama_urls": [upstream]})
        upstream_pool = create_proxy_pool(settings)
        app = create_proxy_app(settings, probe_bus, upstream_pool, ResidencyBook())
        async with upstream_pool, serving(app, "127.0.0.1", 0) as url:
            client = ollama.AsyncClient(host=url)
            started = time.perf_counter()
            arrivals = [
                time.perf_counter() - started
                async for _ in await client.generate("slow", "x", stream=True)
            ]
    # 8 tokens at 10/s: the first must arrive long before the last (no buffering).
    assert arrivals[-1] - arrivals[0] > 0.5


async def test_a_large_request_body_streams_through_and_is_measured(proxy: RunningProxy) -> None:
    image = "QUFB" * (600 * 1024)  # 2.4 MB of base64, as an image in a chat
    messages = [{"role": "user", "content": "what is this", "images": [image]}]
    client = ollama.AsyncClient(host=proxy.url)
    reply = await client.chat("llama3.2:1b", messages=messages, options={"num_ctx": 2048})
    [event] = await received(proxy)
    assert reply.done
    assert event.request_bytes > 2_400_000
    assert (event.model_name, event.num_ctx) == ("llama3.2:1b", 2048)


async def test_a_body_that_never_completes_is_recorded_with_the_unknown_model(
    proxy: RunningProxy,
) -> None:
    host, port = httpx.URL(proxy.url).host, httpx.URL(proxy.url).port
    _, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /api/generate HTTP/1.1\r\nHost: ollama\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"prompt": "the client leaves before the model'
    )
    await writer.drain()
    writer.close()  # the body stops a third of the way in
    await writer.wait_closed()
    [event] = await received(proxy)
    assert (event.model_name, event.model_unknown) == (UNKNOWN_MODEL, True)
    assert event.cancelled
