"""Through the proxy the official clients get what they get directly from Ollama."""

from __future__ import annotations

import asyncio
from typing import Any

import ollama
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.services.probe.conftest import RunningProxy

CHAT = [{"role": "user", "content": "Why is the sky blue?"}]
VARYING = {"created_at", "total_duration"}  # wall-clock values that differ call to call


def comparable(reply: Any) -> dict[str, Any]:
    return reply.model_dump(exclude=VARYING)


async def both(proxy: RunningProxy) -> tuple[ollama.AsyncClient, ollama.AsyncClient]:
    direct = ollama.AsyncClient(host=proxy.emulator.url)
    await direct.generate("llama3.2:1b", "warm up")  # so load_duration is 0 for both
    await direct.embed(model="nomic-embed-text", input="warm up")
    return direct, ollama.AsyncClient(host=proxy.url)


async def test_async_generate_and_chat_match_streaming_or_not(proxy: RunningProxy) -> None:
    direct, proxied = await both(proxy)
    for client_call in (
        lambda c: c.generate("llama3.2:1b", "hello", options={"seed": 2}),
        lambda c: c.chat("llama3.2:1b", messages=CHAT, options={"seed": 2}),
    ):
        assert comparable(await client_call(proxied)) == comparable(await client_call(direct))
    for stream_call in (
        lambda c: c.generate("llama3.2:1b", "hello", stream=True, options={"seed": 3}),
        lambda c: c.chat("llama3.2:1b", messages=CHAT, stream=True, options={"seed": 3}),
    ):
        via_proxy = [comparable(part) async for part in await stream_call(proxied)]
        straight = [comparable(part) async for part in await stream_call(direct)]
        assert via_proxy == straight
        assert len(via_proxy) == 13


async def test_embed_list_ps_and_show_match(proxy: RunningProxy) -> None:
    direct, proxied = await both(proxy)
    assert comparable(
        await proxied.embed(model="nomic-embed-text", input=["a", "b"])
    ) == comparable(await direct.embed(model="nomic-embed-text", input=["a", "b"]))
    assert (await proxied.embeddings(model="nomic-embed-text", prompt="a")) == (
        await direct.embeddings(model="nomic-embed-text", prompt="a")
    )
    assert await proxied.list() == await direct.list()
    assert await proxied.ps() == await direct.ps()
    assert await proxied.show("qwen2.5:7b") == await direct.show("qwen2.5:7b")


async def test_the_sync_client_matches_through_the_proxy(proxy: RunningProxy) -> None:
    await both(proxy)

    def calls(host: str) -> list[Any]:
        client = ollama.Client(host=host)
        return [
            comparable(client.generate("llama3.2:1b", "x", options={"seed": 1})),
            [
                comparable(p)
                for p in client.chat("llama3.2:1b", messages=CHAT, stream=True, options={"seed": 1})
            ],
            comparable(client.embed(model="nomic-embed-text", input="x")),
            client.list(),
            client.show("llama3.2:1b"),
        ]

    assert await asyncio.to_thread(calls, proxy.url) == await asyncio.to_thread(
        calls, proxy.emulator.url
    )


async def test_errors_raise_the_same_through_the_proxy(proxy: RunningProxy) -> None:
    direct, proxied = await both(proxy)

    async def failure(client: ollama.AsyncClient, model: str, stream: bool) -> tuple[int, str, int]:
        received = 0
        with pytest.raises(ollama.ResponseError) as raised:
            if stream:
                async for _ in await client.generate(model, "x", stream=True):
                    received += 1
            else:
                await client.generate(model, "x")
        return raised.value.status_code, raised.value.error, received

    for model, stream in (("missing", False), ("broken", False), ("broken", True), ("flaky", True)):
        assert await failure(proxied, model, stream) == await failure(direct, model, stream)
    assert await failure(proxied, "flaky", True) == (
        -1,
        "llama runner process has terminated: exit status 2",
        3,
    )


MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def openai_clients(proxy: RunningProxy) -> tuple[openai.AsyncOpenAI, openai.AsyncOpenAI]:
    """Direct and proxied clients, built before the loop runs: building one reads files."""
    return (
        openai.AsyncOpenAI(base_url=f"{proxy.emulator.url}/v1", api_key="ollama"),
        openai.AsyncOpenAI(base_url=f"{proxy.url}/v1", api_key="ollama"),
    )


async def test_the_openai_client_matches_through_v1(
    openai_clients: tuple[openai.AsyncOpenAI, openai.AsyncOpenAI],
) -> None:
    direct, proxied = openai_clients

    async def session(client: openai.AsyncOpenAI) -> list[Any]:
        whole = await client.chat.completions.create(model="llama3.2:1b", messages=MESSAGES, seed=1)
        stream = await client.chat.completions.create(
            model="llama3.2:1b",
            messages=MESSAGES,
            seed=1,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
        completion = await client.completions.create(model="llama3.2:1b", prompt="x", seed=1)
        vectors = await client.embeddings.create(model="nomic-embed-text", input=["a"])
        models = [model.id async for model in client.models.list()]
        return [
            whole.choices[0].message.content,
            whole.usage,
            ["".join(c.choices[0].delta.content or "" for c in chunks if c.choices)],
            chunks[-1].usage,
            completion.choices[0].text,
            vectors.data[0].embedding,
            models,
        ]

    assert await session(proxied) == await session(direct)
    for client in (direct, proxied):
        with pytest.raises(openai.APIError, match="exit status 2"):
            stream = await client.chat.completions.create(
                model="flaky", messages=MESSAGES, stream=True
            )
            async for _ in stream:
                pass
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="nope", messages=MESSAGES)
