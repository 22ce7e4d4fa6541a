"""Ollama's server log as gin writes it: one access-log line per request when it ends.

`[GIN] 2025/02/04 - 16:56:25 | 200 |     19.7884ms |       127.0.0.1 | POST     "/api/show"`
(local time to the second, the latency as a Go duration, the client's address). Lines are
appended to a file, unbuffered, as Ollama's `server.log` is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

from ollama_emulator.asgi import Scope, Send


def go_duration(seconds: float) -> str:
    """A duration as Go's `time.Duration.String` writes it (`1.234567s`, `19.7884ms`)."""
    nanoseconds = round(seconds * 1e9)
    if nanoseconds == 0:
        return "0s"
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if nanoseconds >= size:
            text = f"{nanoseconds / size:.9f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return f"{nanoseconds}ns"


def gin_line(
    ended: datetime, status: int, seconds: float, client: str, method: str, path: str
) -> str:
    """One access-log line in gin's default format (`LoggerWithFormatter`'s
    `[GIN] %v |%s %3d %s| %13v | %15s |%s %-7s %s %#v`, with the colours empty: not a
    terminal)."""
    stamp = ended.strftime("%Y/%m/%d - %H:%M:%S")
    latency = go_duration(seconds)
    return f'[GIN] {stamp} | {status:3d} | {latency:>13} | {client:>15} | {method:<7}  "{path}"\n'


class ServerLog:
    """Writes one gin line per request to `path` (opened for appending on each line, so
    rotating or truncating the file under it works as with Ollama's)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._open: dict[int, tuple[float, list[int]]] = {}

    def logging_send(self, scope: Scope, send: Send) -> Send:
        """`send`, noting the reply's status for the request's line."""
        status = [200]
        self._open[id(scope)] = (time.perf_counter(), status)

        async def noting(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        return noting

    async def request_ended(self, scope: Scope) -> None:
        """Write the request's line (off the event loop)."""
        started, status = self._open.pop(id(scope), (time.perf_counter(), [200]))
        client = scope.get("client") or ("", 0)
        line = gin_line(
            datetime.now().astimezone(),  # Ollama logs its local time
            status[0],
            time.perf_counter() - started,
            client[0],
            scope["method"],
            scope["path"],
        )
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(line)
