"""The official `openai` client through the probe's proxy to the real server.

Answers through the proxy are the direct ones, and each request publishes one event on the
bus with what the real server did: usage tokens when it sends usage, tokens counted from
the stream when it does not (llama-cpp-python never sends usage in a stream), tokens/s and
time to first token; a 400 passes through as it is, a client leaving mid-stream is a 499.
"""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from ollamon_core.events import TokenSource
from tests.real_server.conftest import CONTEXT_TOKENS, Proxied
from tests.support.llama_cpp import MODEL_ALIAS
from tests.support.waiting import wait_for

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "say hello world"}]


async def test_answers_through_the_proxy_are_the_direct_ones(
    direct_client: openai.AsyncOpenAI, proxy_client: openai.AsyncOpenAI
) -> None:
    async def chat(client: openai.AsyncOpenAI) -> ChatCompletion:
        return await client.chat.completions.create(
            model=MODEL_ALIAS, messages=MESSAGES, max_tokens=10, temperature=0
        )

    async def complete(client: openai.AsyncOpenAI) -> Completion:
        return await client.completions.create(
            model=MODEL_ALIAS, prompt="once upon a time", max_tokens=10, temperature=0
        )

    direct, proxied = await chat(direct_client), await chat(proxy_client)
    direct_text, proxied_text = await complete(direct_client), await complete(proxy_client)
    assert proxied.choices[0].message.content == direct.choices[0].message.content
    assert proxied.usage == direct.usage
    assert proxied_text.choices[0].text == direct_text.choices[0].text
    assert proxied_text.usage == direct_text.usage


async def test_a_chat_event_has_the_usage_token_counts(
    proxied: Proxied, proxy_client: openai.AsyncOpenAI
) -> None:
    reply = await proxy_client.chat.completions.create(
        model=MODEL_ALIAS, messages=MESSAGES, max_tokens=16, temperature=0
    )
    [event] = await proxied.received()
    assert reply.usage is not None
    assert (event.endpoint, event.status_code, event.streamed) == (
        "/v1/chat/completions",
        200,
        False,
    )
    assert (event.model_name, event.host, event.ollama_url) == (
        MODEL_ALIAS,
        "real",
        proxied.server.url,
    )
    assert event.tokens_generated == reply.usage.completion_tokens == 16
    assert event.tokens_input == reply.usage.prompt_tokens
    assert event.token_source == TokenSource.USAGE
    assert not event.error_occurred


async def test_a_streamed_chat_event_counts_the_tokens_and_has_tokens_per_second_and_ttft(
    proxied: Proxied, proxy_client: openai.AsyncOpenAI
) -> None:
    stream = await proxy_client.chat.completions.create(
        model=MODEL_ALIAS,
        messages=MESSAGES,
        max_tokens=24,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    deltas = [chunk.choices[0].delta.content async for chunk in stream if chunk.choices]
    [event] = await proxied.received()
    assert (event.endpoint, event.streamed, event.status_code) == (
        "/v1/chat/completions",
        True,
        200,
    )
    assert event.tokens_generated == len([delta for delta in deltas if delta]) == 24
    assert event.token_source == TokenSource.COUNTED
    assert event.tokens_per_second is not None and event.tokens_per_second > 0
    assert event.time_to_first_token_ms is not None
    assert 0 < event.time_to_first_token_ms <= event.response_time_ms
    assert event.inter_token_gap_mean_ms is not None


async def test_a_streamed_completion_event_counts_the_tokens(
    proxied: Proxied, proxy_client: openai.AsyncOpenAI
) -> None:
    stream = await proxy_client.completions.create(
        model=MODEL_ALIAS, prompt="the river", max_tokens=20, temperature=0, stream=True
    )
    texts = [chunk.choices[0].text async for chunk in stream if chunk.choices]
    [event] = await proxied.received()
    assert (event.endpoint, event.streamed) == ("/v1/completions", True)
    assert event.tokens_generated == len([text for text in texts if text]) == 20
    assert event.token_source == TokenSource.COUNTED
    assert event.tokens_per_second is not None and event.tokens_per_second > 0
    assert event.time_to_first_token_ms is not None


async def test_concurrent_streams_each_get_their_whole_answer_and_their_own_event(
    proxied: Proxied, proxy_client: openai.AsyncOpenAI
) -> None:
    async def one(tokens: int) -> int:
        stream = await proxy_client.chat.completions.create(
            model=MODEL_ALIAS, messages=MESSAGES, max_tokens=tokens, temperature=0, stream=True
        )
        return len(
            [chunk async for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
        )

    # The server runs one at a time (`--interrupt_requests False` queues the others).
    asked = [30, 31, 32, 33]
    got = await asyncio.gather(*(one(tokens) for tokens in asked))
    events = await proxied.received(len(asked))
    assert got == asked
    assert sorted(event.tokens_generated for event in events) == asked
    assert all(event.status_code == 200 and not event.cancelled for event in events)


async def test_a_prompt_over_the_context_passes_through_as_the_servers_400(
    proxied: Proxied, proxy_client: openai.AsyncOpenAI
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await proxy_client.completions.create(
            model=MODEL_ALIAS, prompt="the sky " * CONTEXT_TOKENS, max_tokens=4
        )
    [event] = await proxied.received()
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["code"] == "context_length_exceeded"
    assert (event.status_code, event.error_occurred, event.tokens_generated) == (400, True, 0)
    assert event.error_message is not None
    assert "context" in event.error_message


async def test_a_client_leaving_mid_stream_is_recorded_as_cancelled_499(
    proxied: Proxied,
) -> None:
    body = {
        "model": MODEL_ALIAS,
        "prompt": "the sea",
        "max_tokens": CONTEXT_TOKENS - 16,
        "temperature": 0,
        "stream": True,
    }
    async with (
        httpx.AsyncClient(base_url=proxied.url, timeout=30) as http,
        http.stream("POST", "/v1/completions", json=body) as reply,
    ):
        async for _ in reply.aiter_raw():
            break  # the first chunk, then the client is gone
    [event] = await proxied.received()
    assert (event.status_code, event.cancelled, event.error_occurred) == (499, True, False)
    assert event.tokens_generated < CONTEXT_TOKENS - 16
    await wait_for(lambda: proxied.app.counters["cancelled_requests"] == 1, 5, "counted")
