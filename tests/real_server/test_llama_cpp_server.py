"""What the real server does, with the official `openai` client and no proxy.

These are the facts the probe is built on (issue 17): the tiny model answers chat and
completions with usage, a stream carries no usage even when asked, one delta per token, and
a prompt over the context is a 400 in OpenAI's error shape.
"""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.real_server.conftest import CONTEXT_TOKENS
from tests.support.llama_cpp import MODEL_ALIAS, write_tiny_model

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "why is the sky blue"}]


def test_the_tiny_model_is_well_under_a_megabyte(tiny_model, tmp_path) -> None:
    again = write_tiny_model(tmp_path / "again.gguf")
    assert tiny_model.stat().st_size < 1_000_000
    assert again.read_bytes() == tiny_model.read_bytes()  # the seed fixes the weights


async def test_a_chat_answers_text_with_usage(direct_client: openai.AsyncOpenAI) -> None:
    reply = await direct_client.chat.completions.create(
        model=MODEL_ALIAS, messages=MESSAGES, max_tokens=12, temperature=0
    )
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 12
    assert reply.usage.prompt_tokens > 5  # the ChatML template's tokens and the words


async def test_a_stream_sends_one_delta_per_token_and_no_usage_even_when_asked(
    direct_client: openai.AsyncOpenAI,
) -> None:
    stream = await direct_client.chat.completions.create(
        model=MODEL_ALIAS,
        messages=MESSAGES,
        max_tokens=12,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    whole = await direct_client.chat.completions.create(
        model=MODEL_ALIAS, messages=MESSAGES, max_tokens=12, temperature=0
    )
    contents = [chunk.choices[0].delta.content for chunk in chunks if chunk.choices]
    assert "".join(content or "" for content in contents) == whole.choices[0].message.content
    assert len([content for content in contents if content]) == 12
    assert all(chunk.usage is None for chunk in chunks)


async def test_a_prompt_over_the_context_is_a_400_context_length_exceeded(
    direct_client: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await direct_client.completions.create(
            model=MODEL_ALIAS, prompt="the sky " * CONTEXT_TOKENS, max_tokens=4
        )
    assert refused.value.status_code == 400
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["code"] == "context_length_exceeded"
