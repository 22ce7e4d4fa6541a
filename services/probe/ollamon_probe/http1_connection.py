"""One keep-alive HTTP/1.1 connection to Ollama and the exchange on it, fed by httptools.

The protocol object is the whole client state machine: httptools calls back as the reply
arrives (head, body pieces, end), the pool's callers wait on `wait()` and take what came
with `take_body()`. Reading pauses above `HIGH_WATER_BYTES` until the reader catches up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import httptools

HIGH_WATER_BYTES = 256 * 1024
_BODILESS_STATUSES = frozenset({204, 304})


class UpstreamError(Exception):
    """Ollama could not be reached, or the exchange with it broke off."""


class UpstreamTimeoutError(UpstreamError, TimeoutError):
    """Ollama did not connect or answer within its timeout."""


class Connection(asyncio.Protocol):
    """One connection and the state of the one exchange on it (httptools callbacks)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.in_use = False
        self.reusable = False
        self.head_only = False
        self.read_to_eof = False
        self.interim = False
        self.done = False
        self.paused = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.buffered = 0
        self.error: UpstreamError | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.writable: asyncio.Future[None] | None = None
        self.body_writer: asyncio.Task[None] | None = None

    def begin(self, head_only: bool) -> None:
        """Get ready for the next exchange on this connection."""
        self.in_use, self.head_only, self.done, self.reusable = True, head_only, False, False
        self.status, self.headers, self.body, self.buffered = 0, [], [], 0

    # asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self.in_use:  # Ollama sent something nobody asked for: not reusable
            self.abort()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self.fail(UpstreamError(f"unreadable reply from Ollama: {error}"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.in_use and not self.done:
            if self.status and self.read_to_eof:
                self.done = True  # a body without length ends when the connection does
            else:
                reason = f": {exc!r}" if exc is not None else ""
                self.fail(UpstreamError(f"Ollama closed the connection{reason}"))
        self._wake()
        self._resume_writing()

    def pause_writing(self) -> None:
        self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._resume_writing()

    # httptools callbacks -----------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue, 103 Early Hints: the real reply follows
            self.interim, self.headers = True, []
            return
        self.status = status
        names = {name.lower() for name, _ in self.headers}
        self.read_to_eof = not (
            self.head_only
            or status in _BODILESS_STATUSES
            or b"content-length" in names
            or b"transfer-encoding" in names
        )
        if self.head_only:  # httptools cannot skip a HEAD reply's announced body
            self.done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        self.buffered += len(body)
        if self.buffered >= HIGH_WATER_BYTES and not self.paused and self.transport:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
            return
        self.done = True
        self.reusable = self.parser.should_keep_alive() and not self.head_only
        self._wake()

    # Used by the pool and the response ---------------------------------------------

    async def wait(self, timeout_seconds: float) -> None:
        """Until the parser or the connection moves on, or the read timeout."""
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout_seconds):
                await self.waiter
        except TimeoutError as error:
            raise UpstreamTimeoutError("no reply from Ollama within the read timeout") from error
        finally:
            self.waiter = None

    def take_body(self) -> bytes:
        """Everything received since the last call, in one piece."""
        data = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body, self.buffered = [], 0
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data

    async def drain(self) -> None:
        """Wait while the kernel's send buffer to Ollama is full."""
        if self.writable is not None:
            await self.writable
        if self.closed:
            raise UpstreamError("Ollama closed the connection while the request was sent")

    def abort(self) -> None:
        """Drop the connection now (Ollama sees the client go and stops generating)."""
        self.reusable = False
        writer = self.body_writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
        if self.transport is not None:
            self.transport.abort()

    def fail(self, error: UpstreamError) -> None:
        """End the exchange with `error` (the first one wins)."""
        if self.error is None:
            self.error = error
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        self.writable = None


async def write_body(connection: Connection, body: AsyncIterator[bytes], chunked: bool) -> None:
    """Send a streamed request body while the reply is read; drop the connection on failure."""
    transport = connection.transport
    assert transport is not None
    try:
        async for piece in body:
            if not piece:
                continue
            if chunked:
                transport.writelines([b"%x\r\n" % len(piece), piece, b"\r\n"])
            else:
                transport.write(piece)
            await connection.drain()
        if chunked:
            transport.write(b"0\r\n\r\n")
    except Exception as error:  # the client left mid-body, or Ollama went away
        connection.fail(UpstreamError(f"the request body broke off: {error!r}"))
        connection.abort()
