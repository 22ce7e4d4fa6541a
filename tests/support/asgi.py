"""Raw ASGI for the small upstreams tests serve: the callable's types, and reading a request
body to its end while noticing a client that went away first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def read_body_size(receive: Receive) -> tuple[int, bool]:
    """Read the request body to its end: the bytes read, and whether the body ended (False
    when `http.disconnect` came first: the client went away)."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return size, False
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return size, True
