"""The official `ollama` client works against the emulator unchanged."""

from __future__ import annotations

import asyncio

import httpx
import ollama

from tests.emulator.conftest import RunningEmulator

CHAT = [{"role": "user", "content": "Why is the sky blue?"}]


async def test_root_says_ollama_is_running_for_get_and_head(emulator: RunningEmulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        get = await http.get("/")
        head = await http.head("/")
        version = await http.get("/api/version")
    assert (get.status_code, get.text) == (200, "Ollama is running")
    assert head.status_code == 200
    assert head.content == b""
    assert version.json() == {"version": "0.12.6"}


async def test_async_generate_returns_final_statistics_in_nanoseconds(
    emulator: RunningEmulator,
) -> None:
    client = ollama.AsyncClient(host=emulator.url)
    reply = await client.generate(model="llama3.2:1b", prompt="hello there", options={"seed": 7})
    assert reply.done is True
    assert reply.done_reason == "stop"
    assert reply.response
    assert reply.eval_count == 12
    assert reply.prompt_eval_count == 2
    assert isinstance(reply.eval_duration, int)
    assert reply.eval_duration == 6_000_000  # 12 tokens at 2000 tokens/s
    assert reply.load_duration == 5_000_000  # first use loads the model
    assert reply.total_duration is not None
    assert reply.total_duration >= reply.load_duration + (reply.prompt_eval_duration or 0)


async def test_streamed_generate_arrives_token_by_token_with_a_final_chunk(
    emulator: RunningEmulator,
) -> None:
    client = ollama.AsyncClient(host=emulator.url)
    parts = [part async for part in await client.generate("llama3.2:1b", "hi", stream=True)]
    assert len(parts) == 13
    assert [part.done for part in parts] == [False] * 12 + [True]
    assert parts[-1].eval_count == 12
    assert parts[-1].context == list(range(1, 13))


async def test_the_same_seed_gives_the_same_text_streamed_or_not(emulator: RunningEmulator) -> None:
    client = ollama.AsyncClient(host=emulator.url)
    whole = await client.generate("llama3.2:1b", "same", options={"seed": 3})
    streamed = [
        part.response or ""
        async for part in await client.generate(
            "llama3.2:1b", "same", stream=True, options={"seed": 3}
        )
    ]
    other = await client.generate("llama3.2:1b", "same", options={"seed": 4})
    assert "".join(streamed) == whole.response
    assert other.response != whole.response


async def test_chat_streams_assistant_messages(emulator: RunningEmulator) -> None:
    client = ollama.AsyncClient(host=emulator.url)
    parts = [part async for part in await client.chat("qwen2.5:7b", messages=CHAT, stream=True)]
    whole = await client.chat("qwen2.5:7b", messages=CHAT)
    assert all(part.message.role == "assistant" for part in parts)
    assert "".join(part.message.content or "" for part in parts) == whole.message.content
    assert parts[-1].done_reason == "stop"


async def test_num_predict_stops_with_done_reason_length(emulator: RunningEmulator) -> None:
    client = ollama.AsyncClient(host=emulator.url)
    reply = await client.chat("llama3.2:1b", messages=CHAT, options={"num_predict": 3})
    assert (reply.eval_count, reply.done_reason) == (3, "length")


async def test_embed_and_embeddings_return_vectors(emulator: RunningEmulator) -> None:
    client = ollama.AsyncClient(host=emulator.url)
    many = await client.embed(model="nomic-embed-text", input=["a b", "c"])
    one = await client.embeddings(model="nomic-embed-text", prompt="a b")
    assert len(many.embeddings) == 2
    assert len(many.embeddings[0]) == 16
    assert many.prompt_eval_count == 3
    assert list(one.embedding) == list(many.embeddings[0])


async def test_list_show_and_ps_describe_the_models(emulator: RunningEmulator) -> None:
    client = ollama.AsyncClient(host=emulator.url)
    listed = await client.list()
    shown = await client.show("qwen2.5:7b")
    assert [model.model for model in listed.models][:2] == ["llama3.2:1b", "qwen2.5:7b"]
    assert listed.models[1].details is not None
    assert listed.models[1].details.quantization_level == "Q4_K_M"
    assert shown.modelinfo is not None
    assert shown.modelinfo["general.parameter_count"] == 7_615_616_512
    assert shown.modelinfo["qwen2.context_length"] == 32768
    assert (await client.ps()).models == []
    await client.chat("qwen2.5:7b", messages=CHAT, options={"num_ctx": 8192})
    loaded = (await client.ps()).models
    assert [model.model for model in loaded] == ["qwen2.5:7b"]
    assert loaded[0].size == 6_000_000_000
    assert loaded[0].size_vram == 4_000_000_000  # partly offloaded to the CPU
    assert loaded[0].context_length == 8192
    assert loaded[0].expires_at is not None


async def test_the_sync_client_works_from_a_thread(emulator: RunningEmulator) -> None:
    def calls() -> tuple[str, str, int, int]:
        client = ollama.Client(host=emulator.url)
        whole = client.generate("llama3.2:1b", "x", options={"seed": 1}).response or ""
        streamed = "".join(
            part.response or ""
            for part in client.generate("llama3.2:1b", "x", stream=True, options={"seed": 1})
        )
        chat = client.chat("llama3.2:1b", messages=CHAT)
        embedded = client.embed(model="nomic-embed-text", input="x")
        client.show("llama3.2:1b")
        return (
            whole,
            streamed,
            len(client.list().models),
            len(embedded.embeddings) + len(client.ps().models) + (chat.eval_count or 0),
        )

    whole, streamed, listed, counted = await asyncio.to_thread(calls)
    assert whole == streamed
    assert listed == 5
    assert counted == 1 + 2 + 12
