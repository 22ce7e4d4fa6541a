"""A real HTTP receiver on loopback that records what it is sent and answers as told.

Plain asyncio streams speaking just enough HTTP/1.1 (keep-alive, Content-Length bodies),
so a test controls exactly when it answers, fails, or is not there at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    """One request as the receiver saw it, answered with `status`."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingReceiver:
    """Answers each request with the next status of `statuses`, then `default_status`."""

    def __init__(
        self,
        port: int | None = None,
        *,
        statuses: list[int] | None = None,
        default_status: int = 200,
        on_request: Callable[[Received], None] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.statuses = list(statuses or [])
        self.default_status = default_status
        self.on_request = on_request
        self.received: list[Received] = []
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def accepted(self) -> list[Received]:
        return [request for request in self.received if 200 <= request.status < 300]

    async def start(self) -> RecordingReceiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> RecordingReceiver:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status = self.statuses.pop(0) if self.statuses else self.default_status
        request = Received(method, path, headers, body, status)
        self.received.append(request)
        if self.on_request is not None:
            self.on_request(request)
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok".encode())
        await writer.drain()
        return True
