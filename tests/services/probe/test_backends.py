"""The watcher tells Ollama, llama.cpp and other OpenAI-compatible servers apart, and the
proxy counts the tokens of a llama.cpp stream that carries no usage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from ollama_emulator.app import EmulatorApp, create_app
from ollama_emulator.config import fast_config, llama_cpp_config
from ollama_emulator.server import serve_app
from ollamon_core.events import (
    BackendKind,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    TokenSource,
)
from ollamon_probe.residency import ResidencyBook
from ollamon_probe.server import serving
from ollamon_probe.watcher import Watcher
from tests.services.probe.sinks import Keep, proxy_in_front_of
from tests.support.asgi import Receive, Scope, Send
from tests.support.waiting import wait_for

VLLM_METRICS = b"""# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="qwen"} 3.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="qwen"} 2.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="qwen"} 0.25
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="qwen"} %d
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="qwen"} 50.0
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="qwen"} 0.0
"""


@dataclass
class VllmLike:
    """An OpenAI-compatible server with vLLM's `/version` and `/metrics`, and no `/health`
    body, `/api/*` or `/props`; `generated` is its token counter."""

    generated: int = 1000
    health_status: int = 200
    paths: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.paths.append(scope["path"])
        replies: dict[str, tuple[bytes, bytes]] = {
            "/v1/models": (
                b"application/json",
                json.dumps(
                    {"object": "list", "data": [{"id": "qwen", "object": "model"}]}
                ).encode(),
            ),
            "/version": (b"application/json", b'{"version": "0.11.0"}'),
            "/metrics": (b"text/plain; version=0.0.4", VLLM_METRICS % self.generated),
            "/health": (b"text/plain", b""),
        }
        content_type, body = replies.get(
            scope["path"], (b"application/json", b'{"detail":"Not Found"}')
        )
        status = 200 if scope["path"] in replies else 404
        if scope["path"] == "/health":
            status = self.health_status
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass
class Polled:
    url: str
    watcher: Watcher
    sink: Keep
    residency: ResidencyBook

    def latest(self, kind: type) -> object:
        return [event for event in self.sink.events if isinstance(event, kind)][-1]


@pytest.fixture
async def llama_cpp() -> AsyncIterator[tuple[str, EmulatorApp]]:
    app = create_app(llama_cpp_config())
    async with serve_app(app) as url:
        yield url, app


def watcher_of(url: str, http: httpx.AsyncClient) -> Polled:
    sink, residency = Keep(), ResidencyBook()
    return Polled(url, Watcher({url: "box"}, sink, http, residency, 60.0), sink, residency)


async def test_a_llama_cpp_server_is_up_with_its_build_model_and_load(
    llama_cpp: tuple[str, EmulatorApp],
) -> None:
    url, _app = llama_cpp
    async with httpx.AsyncClient() as http:
        polled = watcher_of(url, http)
        health = await polled.watcher.poll(url)
        assert (health.up, health.backend, health.version) == (
            True,
            BackendKind.LLAMA_CPP,
            "b6500-emulated",
        )
        assert health.error_message is None
        snapshot = polled.latest(OllamaModelsSnapshot)
        assert isinstance(snapshot, OllamaModelsSnapshot)
        assert snapshot.backend == BackendKind.LLAMA_CPP
        [loaded] = snapshot.loaded
        assert (loaded.name, loaded.context_length) == ("/models/tiny-llama-latest.gguf", 512)
        assert loaded.size_bytes == 0  # unknown: not read as a model offloaded to the CPU
        assert snapshot.available[0].context_length == 2048
        assert snapshot.backend_load is not None
        assert (
            snapshot.backend_load.requests_processing,
            snapshot.backend_load.requests_waiting,
        ) == (0, 0)
        assert snapshot.backend_load.tokens_per_second is None  # no earlier reading yet
        # No cold starts are judged for a server that loads its model at start.
        assert polled.residency.view(url) is None


async def test_the_llama_cpp_load_gives_tokens_per_second_between_two_polls(
    llama_cpp: tuple[str, EmulatorApp],
) -> None:
    url, _app = llama_cpp
    async with httpx.AsyncClient() as http:
        polled = watcher_of(url, http)
        await polled.watcher.poll(url)
        body = {"model": "x", "prompt": "one two", "max_tokens": 9}
        assert (await http.post(f"{url}/v1/completions", json=body)).status_code == 200
        await polled.watcher.poll(url)
    snapshot = polled.latest(OllamaModelsSnapshot)
    assert isinstance(snapshot, OllamaModelsSnapshot) and snapshot.backend_load is not None
    assert snapshot.backend_load.tokens_generated_total == 9
    assert snapshot.backend_load.tokens_per_second is not None
    assert snapshot.backend_load.tokens_per_second > 0


async def test_an_openai_compatible_server_is_up_with_vllm_s_version_models_and_load() -> None:
    server = VllmLike()
    async with serving(server, "127.0.0.1", 0) as url, httpx.AsyncClient() as http:
        polled = watcher_of(url, http)
        health = await polled.watcher.poll(url)
        server.generated += 500
        await polled.watcher.poll(url)
    assert (health.up, health.backend, health.version) == (True, BackendKind.OPENAI, "0.11.0")
    snapshot = polled.latest(OllamaModelsSnapshot)
    assert isinstance(snapshot, OllamaModelsSnapshot) and snapshot.backend_load is not None
    assert [model.name for model in snapshot.loaded] == ["qwen"]
    load = snapshot.backend_load
    assert (load.requests_processing, load.requests_waiting) == (3, 2)
    assert load.kv_cache_usage_percent == 25.0
    assert (load.tokens_generated_total, load.prompt_tokens_total) == (1500, 50)
    assert load.tokens_per_second is not None and load.tokens_per_second > 0
    # The second poll checked the kind found first, not Ollama again, and left /v1/models
    # alone (llama-cpp-python's server would cut a running stream short for it).
    assert server.paths.count("/api/version") == 1
    assert server.paths.count("/v1/models") == 1


async def test_an_openai_compatible_server_answering_health_with_404_is_up_and_5xx_is_down() -> (
    None
):
    server = VllmLike(health_status=404)  # llama-cpp-python's server has no /health
    async with serving(server, "127.0.0.1", 0) as url, httpx.AsyncClient() as http:
        polled = watcher_of(url, http)
        assert (await polled.watcher.poll(url)).up
        assert (await polled.watcher.poll(url)).up
        server.health_status = 503
        down = await polled.watcher.poll(url)
        server.health_status = 404
        back = await polled.watcher.poll(url)
    assert (down.up, down.backend, down.error_message) == (
        False,
        BackendKind.OPENAI,
        "ServerError: GET /health: HTTP 503 Service Unavailable",
    )
    assert (back.up, back.backend, back.changed) == (True, BackendKind.OPENAI, True)
    # Found, then found again after it was down: /v1/models read twice in four polls.
    assert server.paths.count("/v1/models") == 2


async def test_ollama_stays_ollama_and_a_stopped_server_keeps_its_last_kind() -> None:
    async with serve_app(create_app(fast_config())) as ollama_url, httpx.AsyncClient() as http:
        health = await watcher_of(ollama_url, http).watcher.poll(ollama_url)
        assert (health.up, health.backend, health.version) == (True, BackendKind.OLLAMA, "0.12.6")
    async with httpx.AsyncClient() as http:
        async with serve_app(create_app(llama_cpp_config())) as url:
            polled = watcher_of(url, http)
            await polled.watcher.poll(url)
        stopped = await polled.watcher.poll(url)
    assert (stopped.up, stopped.backend, stopped.changed) == (False, BackendKind.LLAMA_CPP, True)
    assert stopped.error_message is not None and "ConnectError" in stopped.error_message


async def test_a_server_that_answers_as_no_known_kind_is_down_with_what_each_said() -> None:
    async def nothing(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    async with serving(nothing, "127.0.0.1", 0) as url, httpx.AsyncClient() as http:
        health = await watcher_of(url, http).watcher.poll(url)
    assert (health.up, health.backend) == (False, BackendKind.OLLAMA)
    assert health.error_message is not None
    assert "GET /api/version: HTTP 404" in health.error_message
    assert "GET /v1/models: HTTP 404" in health.error_message


async def test_a_streamed_llama_cpp_chat_through_the_proxy_counts_its_tokens() -> None:
    async with proxy_in_front_of(create_app(llama_cpp_config())) as proxy:
        body = {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 11,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        async with httpx.AsyncClient() as http:
            reply = await http.post(f"{proxy.url}/v1/chat/completions", json=body)
        assert b"usage" not in reply.content
        await wait_for(lambda: proxy.sink.events, message="the request's event")
    [event] = proxy.sink.events
    assert isinstance(event, OllamaModelMetrics)
    assert (event.tokens_generated, event.token_source) == (11, TokenSource.COUNTED)
    assert event.tokens_per_second is not None and event.tokens_per_second > 0
    assert event.inter_token_gap_mean_ms is not None
    assert event.model_name == "gpt-4o"


def test_health_events_default_to_ollama_for_events_published_before_backends() -> None:
    old = OllamaHealth.model_validate({"host": "h", "ollama_url": "http://o:11434", "up": True})
    assert old.backend == BackendKind.OLLAMA
