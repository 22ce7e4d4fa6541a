"""The `openai` client works against the emulator's `/v1` layer."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.emulator.conftest import RunningEmulator

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def client(emulator: RunningEmulator) -> openai.AsyncOpenAI:
    """A client of the emulator, built before the loop runs: building one reads files."""
    return openai.AsyncOpenAI(base_url=f"{emulator.url}/v1", api_key="ollama")


async def test_chat_completion_returns_text_and_usage(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model="llama3.2:1b",
        messages=MESSAGES,
        seed=5,
    )
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (2, 12)


async def test_streamed_chat_ends_with_usage_when_asked(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="llama3.2:1b",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        seed=5,
    )
    chunks = [chunk async for chunk in stream]
    whole = await client.chat.completions.create(
        model="llama3.2:1b",
        messages=MESSAGES,
        seed=5,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 12


async def test_the_sse_stream_ends_with_done(emulator: RunningEmulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        reply = await http.post(
            "/v1/chat/completions",
            json={"model": "llama3.2:1b", "messages": MESSAGES, "stream": True},
        )
    assert reply.headers["content-type"] == "text/event-stream"
    events = [line for line in reply.text.split("\n\n") if line]
    assert all(event.startswith("data: ") for event in events)
    assert events[-1] == "data: [DONE]"


async def test_completions_embeddings_and_models(client: openai.AsyncOpenAI) -> None:
    completion = await client.completions.create(model="llama3.2:1b", prompt="once")
    vectors = await client.embeddings.create(model="nomic-embed-text", input=["a", "b c"])
    models = [model.id async for model in client.models.list()]
    assert completion.choices[0].text
    assert [len(item.embedding) for item in vectors.data] == [16, 16]
    assert vectors.usage.prompt_tokens == 3
    assert "qwen2.5:7b" in models


async def test_errors_use_the_openai_error_shape(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        await client.chat.completions.create(model="nope", messages=MESSAGES)
    with pytest.raises(openai.APIError, match="exit status 2"):
        stream = await client.chat.completions.create(
            model="flaky",
            messages=MESSAGES,
            stream=True,
        )
        async for _ in stream:
            pass
    assert missing.value.status_code == 404
    assert isinstance(missing.value.body, dict)
    assert missing.value.body["type"] == "not_found_error"
