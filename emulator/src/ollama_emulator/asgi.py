"""The few raw ASGI pieces the emulator needs: read a body, send JSON, stream lines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

NDJSON = b"application/x-ndjson"
SSE = b"text/event-stream"
JSON = b"application/json; charset=utf-8"


class ApiError(Exception):
    """An error reply: Ollama sends `{"error": message}` with the status code."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object, or a 400 like Ollama's for anything else."""
    if not body.strip():
        raise ApiError(400, "missing request body")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, f"invalid character in request body: {error}") from error
    if not isinstance(value, dict):
        raise ApiError(400, "json: cannot unmarshal into Go value of type api.Request")
    return value


def dumps(value: object) -> bytes:
    """Compact JSON bytes, as Go's encoder writes them."""
    return json.dumps(value, separators=(",", ":")).encode()


async def send_bytes(
    send: Send, status: int, body: bytes, content_type: bytes, head_only: bool = False
) -> None:
    """A complete, non-streamed reply."""
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head_only else body})


async def send_json(send: Send, status: int, value: object) -> None:
    """A complete JSON reply."""
    await send_bytes(send, status, dumps(value), JSON)


async def stream_chunks(
    receive: Receive, send: Send, content_type: bytes, chunks: AsyncIterator[bytes]
) -> bool:
    """Send 200 and each chunk as it is made; False when the client went away first.

    A task watches for `http.disconnect` so generation stops at the next chunk, as Ollama
    cancels a request whose client left.
    """
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]}
    )
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(watch())
    try:
        async for chunk in chunks:
            if gone.is_set():
                return False
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if gone.is_set():
            return False
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return True
    finally:
        watcher.cancel()
