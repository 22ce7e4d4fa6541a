"""Clients that misbehave on purpose, over real sockets: huge heads, slow heads, stalled bodies.

Each one reports how the server ended it: the status line of the reply it got, if any, and
whether the connection was closed (or reset) by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Self

CLOSE_TIMEOUT_SECONDS = 30.0


def host_and_port(url: str) -> tuple[str, int]:
    """`http://127.0.0.1:8000` -> ("127.0.0.1", 8000)."""
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    return host, int(port)


def host(url: str) -> bytes:
    """The `Host` header a browser would send for `url`."""
    return url.removeprefix("http://").rstrip("/").encode()


def status_of(reply: bytes) -> int | None:
    """The status code of a raw HTTP/1.1 reply, None if there is none."""
    if not reply.startswith(b"HTTP/1.1 "):
        return None
    return int(reply[9:12])


@dataclass
class Ending:
    """How the server ended a hostile client's connection."""

    reply: bytes = b""
    sent_bytes: int = 0
    reset: bool = False

    @property
    def status(self) -> int | None:
        """The reply's status code, None when the server only closed."""
        return status_of(self.reply)


async def _read_until_closed(reader: asyncio.StreamReader, ending: Ending) -> None:
    try:
        while chunk := await reader.read(65536):
            ending.reply += chunk
    except ConnectionError:
        ending.reset = True


async def huge_head(url: str, header_bytes: int, path: str = "/api/version") -> Ending:
    """Send a request head with one header of `header_bytes`, never ending it; return once
    the server closed the connection (its reply, if any, read)."""
    reader, writer = await asyncio.open_connection(*host_and_port(url))
    ending = Ending()
    piece = b"a" * 65536
    try:
        writer.write(b"GET %s HTTP/1.1\r\nHost: %s\r\nX-Huge: " % (path.encode(), host(url)))
        while ending.sent_bytes < header_bytes:
            writer.write(piece)
            ending.sent_bytes += len(piece)
            await writer.drain()
    except ConnectionError:
        ending.reset = True
    async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
        await _read_until_closed(reader, ending)
    writer.close()
    return ending


class _BackgroundClient:
    """A hostile client run as a background task: `start()` it, then `cut()` waits for the
    server to end it and `stop()` gives up; `_run` is what it does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ending = Ending()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Self:
        """Connect and begin misbehaving, in the background."""
        self._task = asyncio.create_task(self._run())
        return self

    async def cut(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> Ending:
        """Wait until the server closed the connection; how it did."""
        assert self._task is not None
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._task)
        return self.ending

    def stop(self) -> None:
        """Give up (the test is over)."""
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        raise NotImplementedError


class Slowloris(_BackgroundClient):
    """Sends a request head one byte at a time, every `pause_seconds`, until the server
    closes the connection or `stop()`."""

    def __init__(self, url: str, pause_seconds: float = 0.05) -> None:
        super().__init__(url)
        self.pause_seconds = pause_seconds
        self.connected = asyncio.Event()

    async def _run(self) -> None:
        reader, writer = await asyncio.open_connection(*host_and_port(self.url))
        self.connected.set()
        reading = asyncio.create_task(_read_until_closed(reader, self.ending))
        head = b"GET /api/version HTTP/1.1\r\nHost: %s\r\nX-Slow: " % host(self.url)
        head += b"s" * 1_000_000
        try:
            for byte in head:
                if reading.done():
                    break
                writer.write(bytes([byte]))
                self.ending.sent_bytes += 1
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reading), self.pause_seconds)
        except ConnectionError:
            self.ending.reset = True
        finally:
            await reading
            writer.close()


class StalledBody(_BackgroundClient):
    """Sends a request head announcing `content_length` bytes and `first` of them, then
    nothing: it waits for the server to close the connection."""

    def __init__(self, url: str, path: str, content_length: int, first: bytes) -> None:
        super().__init__(url)
        self.path = path
        self.content_length = content_length
        self.first = first
        self.sent = asyncio.Event()

    async def _run(self) -> None:
        reader, writer = await asyncio.open_connection(*host_and_port(self.url))
        try:
            writer.write(
                b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s"
                % (self.path.encode(), host(self.url), self.content_length, self.first)
            )
            await writer.drain()
            self.ending.sent_bytes = len(self.first)
            self.sent.set()
        except ConnectionError:
            self.ending.reset = True
        await _read_until_closed(reader, self.ending)
        writer.close()
