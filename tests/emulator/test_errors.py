"""Errors come back as Ollama writes them, and raise in the official client."""

from __future__ import annotations

import asyncio

import httpx
import ollama
import pytest

from ollama_emulator.app import create_app
from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.server import running_emulator, serve_app
from tests.emulator.conftest import RunningEmulator
from tests.support.waiting import wait_for


async def test_bad_json_and_missing_model_are_400_with_an_error_body(
    emulator: RunningEmulator,
) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        bad_json = await http.post("/api/generate", content=b"{not json")
        no_model = await http.post("/api/chat", json={"messages": []})
    assert bad_json.status_code == 400
    assert "invalid character" in bad_json.json()["error"]
    assert (no_model.status_code, no_model.json()) == (400, {"error": "model is required"})


async def test_an_unknown_model_raises_a_404_response_error(emulator: RunningEmulator) -> None:
    client = ollama.AsyncClient(host=emulator.url)
    with pytest.raises(ollama.ResponseError) as raised:
        await client.generate("missing:1b", "x")
    assert raised.value.status_code == 404
    assert raised.value.error == 'model "missing:1b" not found, try pulling it first'


async def test_a_failing_model_raises_a_500_streaming_or_not(emulator: RunningEmulator) -> None:
    client = ollama.AsyncClient(host=emulator.url)
    with pytest.raises(ollama.ResponseError) as whole:
        await client.generate("broken", "x")
    with pytest.raises(ollama.ResponseError) as streamed:
        async for _ in await client.generate("broken", "x", stream=True):
            pass
    assert (whole.value.status_code, whole.value.error) == (500, "model crashed")
    assert (streamed.value.status_code, streamed.value.error) == (500, "model crashed")


async def test_a_mid_stream_error_arrives_as_an_ndjson_line_under_200(
    emulator: RunningEmulator,
) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        reply = await http.post("/api/generate", json={"model": "flaky", "prompt": "x"})
    lines = reply.text.splitlines()
    assert reply.status_code == 200
    assert len(lines) == 4
    assert lines[-1] == '{"error":"llama runner process has terminated: exit status 2"}'


async def test_a_mid_stream_error_raises_in_the_client_after_some_tokens(
    emulator: RunningEmulator,
) -> None:
    client = ollama.AsyncClient(host=emulator.url)
    received: list[str] = []
    with pytest.raises(ollama.ResponseError) as raised:
        async for part in await client.chat(
            "flaky", messages=[{"role": "user", "content": "x"}], stream=True
        ):
            received.append(part.message.content or "")
    assert len(received) == 3
    assert raised.value.error == "llama runner process has terminated: exit status 2"


async def test_a_full_queue_answers_503() -> None:
    slow = ModelSpec(name="slow:latest", load_time_ms=0, time_to_first_token_ms=300)
    app = create_app(EmulatorConfig(models=[slow], num_parallel=1, max_queue=0))
    async with serve_app(app) as url:
        client = ollama.AsyncClient(host=url)
        first = asyncio.create_task(client.generate("slow", "x"))
        await wait_for(lambda: app.engine.stats["loads"] == 1, message="the one slot taken")
        with pytest.raises(ollama.ResponseError) as raised:
            await client.generate("slow", "y")
        await first
    assert raised.value.status_code == 503
    assert "maximum pending requests exceeded" in raised.value.error


async def test_fail_every_nth_fails_exactly_that_often() -> None:
    config = EmulatorConfig(models=[ModelSpec(name="third:latest", fail_every_nth=3)])
    async with running_emulator(config) as url:
        client = ollama.AsyncClient(host=url)
        outcomes = []
        for _ in range(6):
            try:
                await client.generate("third", "x")
                outcomes.append("ok")
            except ollama.ResponseError:
                outcomes.append("error")
    assert outcomes == ["ok", "ok", "error", "ok", "ok", "error"]


async def test_unknown_paths_and_wrong_methods_are_rejected(emulator: RunningEmulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        missing = await http.get("/api/nothing")
        wrong = await http.get("/api/generate")
    assert (missing.status_code, missing.text) == (404, "404 page not found")
    assert wrong.status_code == 405


async def test_a_client_leaving_mid_stream_cancels_the_generation() -> None:
    slow = ModelSpec(name="slow:latest", tokens_per_second=20, response_tokens=100)
    app = create_app(EmulatorConfig(models=[slow]))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as http:
        async with http.stream(
            "POST", "/api/generate", json={"model": "slow", "prompt": "x"}
        ) as reply:
            async for _ in reply.aiter_lines():
                break
        await wait_for(lambda: app.engine.stats["cancelled"], message="the generation cancelled")
    assert app.engine.stats["cancelled"] == 1
    assert app.engine.stats["completed"] == 0
