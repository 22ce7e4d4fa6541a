"""Ollama's native generation endpoints: `/api/generate`, `/api/chat`, `/api/embed(dings)`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ollama_emulator.asgi import (
    NDJSON,
    ApiError,
    Receive,
    Send,
    dumps,
    send_json,
    stream_chunks,
)
from ollama_emulator.catalogue import now_go_time
from ollama_emulator.engine import Engine, Job, MidStreamError, Outcome
from ollama_emulator.generation import embedding
from ollama_emulator.residency import keep_alive_seconds


def final_fields(outcome: Outcome) -> dict[str, Any]:
    """The statistics of the last chunk, durations in integer nanoseconds."""
    timing = outcome.timing
    return {
        "done_reason": outcome.done_reason,
        "total_duration": max(outcome.total_ns, timing.load_ns + timing.prompt_eval_ns),
        "load_duration": timing.load_ns,
        "prompt_eval_count": timing.prompt_eval_count,
        "prompt_eval_duration": timing.prompt_eval_ns,
        "eval_count": timing.eval_count,
        "eval_duration": timing.eval_ns,
    }


def _chat_prompt(messages: object) -> str:
    if not isinstance(messages, list):
        return ""
    return " ".join(
        str(message.get("content") or "") for message in messages if isinstance(message, dict)
    )


class _Shape:
    """How one endpoint spells a chunk (generate: `response`, chat: `message`)."""

    def __init__(self, chat: bool, model: str) -> None:
        self.chat = chat
        self.model = model

    def chunk(self, text: str, done: bool) -> dict[str, Any]:
        content: dict[str, Any] = (
            {"message": {"role": "assistant", "content": text}} if self.chat else {"response": text}
        )
        return {"model": self.model, "created_at": now_go_time(), **content, "done": done}

    def final(self, text: str, outcome: Outcome) -> dict[str, Any]:
        body = self.chunk(text, True) | final_fields(outcome)
        if not self.chat:
            body["context"] = list(range(1, outcome.timing.eval_count + 1))
        return body


async def generate(engine: Engine, body: dict[str, Any], receive: Receive, send: Send) -> None:
    """`POST /api/generate`."""
    await _generation(engine, body, receive, send, chat=False)


async def chat(engine: Engine, body: dict[str, Any], receive: Receive, send: Send) -> None:
    """`POST /api/chat`."""
    await _generation(engine, body, receive, send, chat=True)


async def _generation(
    engine: Engine, body: dict[str, Any], receive: Receive, send: Send, *, chat: bool
) -> None:
    spec = engine.resolve(body.get("model"))
    prompt = _chat_prompt(body.get("messages")) if chat else str(body.get("prompt") or "")
    job = engine.job(spec, prompt, body)
    shape = _Shape(chat, spec.name)
    empty = not body.get("messages") if chat else not prompt
    if empty:
        await _load_or_unload(engine, job, shape, send)
        return
    async with engine.admitted():
        box: list[Outcome] = []
        tokens = engine.run(job, box)
        try:
            first = await anext(tokens)
        except MidStreamError as error:
            raise ApiError(500, str(error)) from error
        except StopAsyncIteration:
            first = ""
        if body.get("stream", True) is False:
            await _reply_whole(tokens, first, box, shape, send)
            return
        completed = await stream_chunks(receive, send, NDJSON, _lines(tokens, first, box, shape))
        if not completed:
            engine.stats["cancelled"] += 1
            engine.residency.release(spec, job.keep_alive)
        await tokens.aclose()


async def _lines(
    tokens: AsyncIterator[str], first: str, box: list[Outcome], shape: _Shape
) -> AsyncIterator[bytes]:
    yield dumps(shape.chunk(first, False)) + b"\n"
    try:
        async for token in tokens:
            yield dumps(shape.chunk(token, False)) + b"\n"
    except MidStreamError as error:
        # Ollama has already sent 200: the error arrives as one more NDJSON line.
        yield dumps({"error": str(error)}) + b"\n"
        return
    yield dumps(shape.final("", box[0])) + b"\n"


async def _reply_whole(
    tokens: AsyncIterator[str], first: str, box: list[Outcome], shape: _Shape, send: Send
) -> None:
    parts = [first]
    try:
        parts.extend([token async for token in tokens])
    except MidStreamError as error:
        raise ApiError(500, str(error)) from error
    await send_json(send, 200, shape.final("".join(parts), box[0]))


async def _load_or_unload(engine: Engine, job: Job, shape: _Shape, send: Send) -> None:
    """An empty prompt loads the model (or unloads it with keep_alive 0), as Ollama does."""
    if job.keep_alive <= 0:
        engine.residency.unload(job.spec)
        reason = "unload"
    else:
        await engine.load(job)
        engine.residency.release(job.spec, job.keep_alive)
        reason = "load"
    reply = shape.chunk("", True) | {"done_reason": reason}
    await send_json(send, 200, reply)


async def embed(engine: Engine, body: dict[str, Any], receive: Receive, send: Send) -> None:
    """`POST /api/embed`: one vector per input."""
    spec = engine.resolve(body.get("model"))
    raw = body.get("input", "")
    texts = [raw] if isinstance(raw, str) else [str(item) for item in raw or []]
    job = engine.job(spec, " ".join(texts), body)
    async with engine.admitted():
        timing, total_ns = await engine.embed(spec, texts, job)
    await send_json(
        send,
        200,
        {
            "model": spec.name,
            "embeddings": [embedding(spec, text) for text in texts],
            "total_duration": total_ns,
            "load_duration": timing.load_ns,
            "prompt_eval_count": timing.prompt_eval_count,
        },
    )


async def embeddings(engine: Engine, body: dict[str, Any], receive: Receive, send: Send) -> None:
    """`POST /api/embeddings` (the older single-prompt form)."""
    spec = engine.resolve(body.get("model"))
    prompt = str(body.get("prompt") or "")
    keep_alive_seconds(body.get("keep_alive"), engine.config.keep_alive_seconds)
    if not prompt:
        await send_json(send, 200, {"embedding": []})
        return
    job = engine.job(spec, prompt, body)
    async with engine.admitted():
        await engine.embed(spec, [prompt], job)
    await send_json(send, 200, {"embedding": embedding(spec, prompt)})
