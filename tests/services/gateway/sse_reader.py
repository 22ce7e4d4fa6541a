"""A small server-sent-events reader over an httpx stream, for tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SseMessage:
    """One SSE block: an event (with id, type, data) or only comments."""

    event: str | None = None
    id: int | None = None
    data_lines: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    @property
    def data(self) -> Any:
        """The data lines, parsed as JSON."""
        return json.loads("\n".join(self.data_lines))


async def messages(response: httpx.Response) -> AsyncIterator[SseMessage]:
    """Yield each SSE block of a streaming response as it arrives."""
    current = SseMessage()
    async for line in response.aiter_lines():
        if line == "":
            if current.event or current.data_lines or current.comments:
                yield current
            current = SseMessage()
        elif line.startswith(":"):
            current.comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                current.event = value
            elif name == "id":
                current.id = int(value)
            elif name == "data":
                current.data_lines.append(value)
