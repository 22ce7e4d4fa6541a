"""Ollama's OpenAI-compatible layer: `/v1/chat/completions`, `/v1/completions`,
`/v1/embeddings`, `/v1/models` (server-sent events when streaming)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from ollama_emulator.asgi import SSE, ApiError, Receive, Send, dumps, send_json, stream_chunks
from ollama_emulator.config import EmulatorConfig
from ollama_emulator.engine import Engine, MidStreamError, Outcome
from ollama_emulator.generation import embedding
from ollama_emulator.llama_cpp import model_of

_ids = itertools.count(1)
_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}


def error_body(status_code: int, message: str) -> dict[str, Any]:
    """OpenAI's error object, as Ollama's compatibility layer writes it."""
    kind = _ERROR_TYPES.get(status_code, "api_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _usage(outcome: Outcome) -> dict[str, int]:
    prompt, completion = outcome.timing.prompt_eval_count, outcome.timing.eval_count
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _finish_reason(outcome: Outcome) -> str:
    return "length" if outcome.done_reason == "length" else "stop"


def _to_native(body: dict[str, Any], prompt: str) -> dict[str, Any]:
    """OpenAI parameters -> the native options the engine reads."""
    options: dict[str, Any] = {}
    if isinstance(body.get("max_tokens"), int):
        options["num_predict"] = body["max_tokens"]
    if body.get("seed") is not None:
        options["seed"] = body["seed"]
    return {"model": body.get("model"), "prompt": prompt, "options": options}


class _Shape:
    """Chunk and reply objects of chat (`message`/`delta`) or completions (`text`)."""

    def __init__(self, chat: bool, model: str) -> None:
        self.chat = chat
        self.model = model
        self.id = f"{'chatcmpl' if chat else 'cmpl'}-{next(_ids)}"
        self.created = int(time.time())

    def _head(self, chunk: bool) -> dict[str, Any]:
        kind = "chat.completion" if self.chat else "text_completion"
        if chunk and self.chat:
            kind = "chat.completion.chunk"
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_ollama",
        }

    def role_chunk(self) -> dict[str, Any]:
        return self._head(True) | {
            "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]
        }

    def chunk(self, text: str, finish_reason: str | None) -> dict[str, Any]:
        if self.chat:
            choice: dict[str, Any] = {"index": 0, "delta": {"role": "assistant", "content": text}}
        else:
            choice = {"text": text, "index": 0}
        return self._head(True) | {"choices": [choice | {"finish_reason": finish_reason}]}

    def usage_chunk(self, outcome: Outcome) -> dict[str, Any]:
        return self._head(True) | {"choices": [], "usage": _usage(outcome)}

    def whole(self, text: str, outcome: Outcome) -> dict[str, Any]:
        if self.chat:
            choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}}
        else:
            choice = {"text": text, "index": 0}
        choice["finish_reason"] = _finish_reason(outcome)
        return self._head(False) | {"choices": [choice], "usage": _usage(outcome)}


def _sse(value: object) -> bytes:
    return b"data: " + dumps(value) + b"\n\n"


def _sse_llama_cpp(value: object) -> bytes:
    # llama-cpp-python's server: json.dumps' spacing, sse-starlette's CRLF line ends
    return b"data: " + json.dumps(value).encode() + b"\r\n\r\n"


async def chat_completions(
    engine: Engine, body: dict[str, Any], receive: Receive, send: Send
) -> None:
    """`POST /v1/chat/completions`."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "invalid message format")
    prompt = " ".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
    await _completion(engine, body, prompt, receive, send, chat=True)


async def completions(engine: Engine, body: dict[str, Any], receive: Receive, send: Send) -> None:
    """`POST /v1/completions`."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise ApiError(400, "invalid prompt, expected a string")
    await _completion(engine, body, prompt, receive, send, chat=False)


async def _completion(
    engine: Engine, body: dict[str, Any], prompt: str, receive: Receive, send: Send, *, chat: bool
) -> None:
    llama = engine.config.backend == "llama.cpp"
    # llama.cpp serves its one model whatever a request names (llama-cpp-python echoes it)
    spec = model_of(engine.config) if llama else engine.resolve(body.get("model"))
    job = engine.job(spec, prompt, _to_native(body, prompt))
    shape = _Shape(chat, str(body.get("model") or spec.name) if llama else spec.name)
    stream_options = body.get("stream_options")
    include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage")
    include_usage = include_usage and not llama  # llama-cpp-python ignores it
    async with engine.admitted():
        box: list[Outcome] = []
        tokens = engine.run(job, box)
        try:
            first = await anext(tokens)
        except MidStreamError as error:
            raise ApiError(500, str(error)) from error
        if not body.get("stream"):
            parts = [first]
            try:
                parts.extend([token async for token in tokens])
            except MidStreamError as error:
                raise ApiError(500, str(error)) from error
            await send_json(send, 200, shape.whole("".join(parts), box[0]))
            return
        events = _events(tokens, first, box, shape, bool(include_usage), llama=llama)
        if not await stream_chunks(receive, send, SSE, events):
            engine.stats["cancelled"] += 1
            engine.residency.release(spec, job.keep_alive)
        await tokens.aclose()


async def _events(
    tokens: AsyncIterator[str],
    first: str,
    box: list[Outcome],
    shape: _Shape,
    usage: bool,
    *,
    llama: bool = False,
) -> AsyncIterator[bytes]:
    sse = _sse_llama_cpp if llama else _sse
    if llama and shape.chat:
        yield sse(shape.role_chunk())
    yield sse(shape.chunk(first, None))
    try:
        async for token in tokens:
            yield sse(shape.chunk(token, None))
    except MidStreamError as error:
        yield sse(error_body(500, str(error)))
        return
    yield sse(shape.chunk("", _finish_reason(box[0])))
    if usage:
        yield sse(shape.usage_chunk(box[0]))
    yield b"data: [DONE]\r\n\r\n" if llama else b"data: [DONE]\n\n"


async def embeddings(engine: Engine, body: dict[str, Any], receive: Receive, send: Send) -> None:
    """`POST /v1/embeddings`."""
    spec = engine.resolve(body.get("model"))
    raw = body.get("input")
    if isinstance(raw, str):
        texts = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(item, str) for item in raw):
        texts = list(raw)
    else:
        raise ApiError(400, "invalid input type")
    job = engine.job(spec, " ".join(texts), {"model": spec.name})
    async with engine.admitted():
        timing, _ = await engine.embed(spec, texts, job)
    data = [
        {"object": "embedding", "embedding": embedding(spec, text), "index": index}
        for index, text in enumerate(texts)
    ]
    usage = {"prompt_tokens": timing.prompt_eval_count, "total_tokens": timing.prompt_eval_count}
    await send_json(send, 200, {"object": "list", "data": data, "model": spec.name, "usage": usage})


def models(config: EmulatorConfig) -> dict[str, Any]:
    """`GET /v1/models`."""
    return {
        "object": "list",
        "data": [
            {"id": spec.name, "object": "model", "created": 1736936430, "owned_by": "library"}
            for spec in config.models
        ],
    }
