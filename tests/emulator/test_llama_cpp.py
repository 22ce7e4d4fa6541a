"""The emulator's llama.cpp mode answers as a llama.cpp server (llama-cpp-python's streams)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ollama_emulator.app import EmulatorApp, create_app
from ollama_emulator.config import llama_cpp_config
from ollama_emulator.server import serve_app
from tests.emulator.conftest import RunningEmulator


@pytest.fixture
async def llama_cpp() -> AsyncIterator[RunningEmulator]:
    app: EmulatorApp = create_app(llama_cpp_config())
    async with serve_app(app) as url:
        yield RunningEmulator(url, app)


@pytest.fixture
def client(llama_cpp: RunningEmulator) -> openai.AsyncOpenAI:
    """A client built before the loop runs: building one reads files."""
    return openai.AsyncOpenAI(base_url=f"{llama_cpp.url}/v1", api_key="none")


async def test_it_answers_llama_cpp_s_own_routes_and_no_ollama_api(
    llama_cpp: RunningEmulator,
) -> None:
    async with httpx.AsyncClient(base_url=llama_cpp.url) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        props = (await http.get("/props")).json()
        assert (props["total_slots"], props["build_info"]) == (2, "b6500-emulated")
        assert props["model_path"] == "/models/tiny-llama-latest.gguf"
        assert [slot["is_processing"] for slot in (await http.get("/slots")).json()] == [
            False,
            False,
        ]
        models = (await http.get("/v1/models")).json()
        assert models["data"][0]["id"] == "/models/tiny-llama-latest.gguf"
        assert (await http.get("/api/version")).status_code == 404
        assert (await http.get("/api/tags")).status_code == 404


async def test_its_metrics_parse_as_prometheus_text_and_count_tokens(
    llama_cpp: RunningEmulator, client: openai.AsyncOpenAI
) -> None:
    await client.completions.create(model="anything", prompt="one two three", max_tokens=5)
    async with httpx.AsyncClient(base_url=llama_cpp.url) as http:
        text = (await http.get("/metrics")).text
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples["llamacpp:tokens_predicted_total"] == 5
    assert samples["llamacpp:prompt_tokens_total"] == 3
    assert samples["llamacpp:requests_processing"] == 0
    assert samples["llamacpp:requests_deferred"] == 0
    assert samples["llamacpp:kv_cache_usage_ratio"] == 0


async def test_a_stream_has_a_role_chunk_one_chunk_per_token_and_no_usage_even_if_asked(
    client: openai.AsyncOpenAI,
) -> None:
    stream = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=7,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content is None
    assert sum(1 for chunk in chunks if chunk.choices and chunk.choices[0].delta.content) == 7
    assert all(chunk.usage is None for chunk in chunks)
    assert {chunk.model for chunk in chunks} == {"gpt-4o"}  # the name sent, echoed
