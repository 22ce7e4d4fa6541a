"""A minimal pooled HTTP/1.1 client to one origin (Ollama): the proxy's upstream side.

Why not a library: the proxy may add 1 ms per request, and on the 2-CPU bench machine the
client side alone took about 1.0 ms with httpx and about 0.55 ms of CPU with aiohttp (its
request object, header, cookie, auth and proxy machinery), against about 0.2 ms for this
protocol object fed by httptools, the parser uvicorn already uses
(docs/decisions/0001-own-http1-client.md).
The proxy needs little of a client, and all of this is what it needs:

- keep-alive connections, reused last-in first-out; a connection Ollama closed is dropped;
- the request written as given (no headers added but Host, Content-Length or chunked
  Transfer-Encoding, and Basic `Authorization` from the URL's userinfo when the client sent
  none of its own), its body as bytes in one write with the head, or streamed with flow
  control while the reply is read;
- the reply as it arrives: status, raw headers, body pieces (httptools removes the chunked
  framing), with 1xx skipped, HEAD/204/304 bodiless and read-until-close bodies handled;
- connect and read timeouts; reading pauses when the client is slower than Ollama.

No redirects, cookies, decompression or environment proxies: a transparent proxy must not
do them. `https://` Ollama URLs work through asyncio's TLS.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import AsyncIterator
from urllib.parse import SplitResult, unquote, urlsplit

from ollamon_core.redaction import redact_url
from ollamon_probe.http1_connection import (
    Connection,
    UpstreamError,
    UpstreamTimeoutError,
    write_body,
)

__all__ = ["UpstreamError", "UpstreamPool", "UpstreamResponse", "UpstreamTimeoutError"]

MAX_IDLE_CONNECTIONS = 64


def basic_authorization(parts: SplitResult) -> bytes | None:
    """The `Authorization` value for a URL's userinfo (`http://user:pw@host`), None without.

    Percent-decoded first, as httpx (the watcher's client) does with the same URL.
    """
    if parts.username is None and parts.password is None:
        return None
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return b"Basic " + base64.b64encode(pair.encode())


class UpstreamResponse:
    """Ollama's reply: status and raw headers now, the body as it arrives."""

    __slots__ = ("_connection", "_pool", "headers", "status")

    def __init__(self, pool: UpstreamPool, connection: Connection) -> None:
        self._pool = pool
        self._connection = connection
        self.status = connection.status
        self.headers = connection.headers

    def header(self, name: bytes) -> bytes:
        """The first value of header `name` (lower case), b"" if absent."""
        return next((value for key, value in self.headers if key.lower() == name), b"")

    async def pieces(self) -> AsyncIterator[tuple[bytes, bool]]:
        """The body as (what arrived since the last piece, whether the body ends with it)."""
        connection = self._connection
        while True:
            if connection.body:
                data = connection.take_body()
                last = connection.done
                yield data, last
                if last:
                    return
            elif connection.done:
                yield b"", True
                return
            elif connection.error is not None:
                raise connection.error
            else:
                await connection.wait(self._pool.read_timeout_seconds)

    def release(self) -> None:
        """The body was read to its end: keep the connection for the next request."""
        self._pool.release(self._connection)

    def close(self) -> None:
        """Drop the connection (the reply was abandoned or broke)."""
        self._connection.abort()


class UpstreamPool:
    """Keep-alive HTTP/1.1 connections to one origin, e.g. `http://127.0.0.1:11434`.

    `base_url` may hold credentials (`http://user:pw@host:11434`): every request then
    carries them as Basic auth unless the client sent an `Authorization` of its own.
    """

    def __init__(
        self, base_url: str, connect_timeout_seconds: float, read_timeout_seconds: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {redact_url(base_url)!r}")
        secure = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if secure else 80)
        self.host_header = parts.netloc.rsplit("@", 1)[-1].encode()
        self.base_path = parts.path.rstrip("/").encode()
        self.authorization = basic_authorization(parts)
        self.ssl_context = ssl.create_default_context() if secure else None
        self.connect_timeout_seconds = connect_timeout_seconds
        self.read_timeout_seconds = read_timeout_seconds
        self._idle: list[Connection] = []

    async def request(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes] | None,
    ) -> UpstreamResponse:
        """Send one request and return once Ollama's status and headers are in.

        `target` is the path and query as the client sent them; `headers` are sent as given.
        A streamed body without a Content-Length header goes out chunked.
        """
        connection = await self._connection()
        connection.begin(head_only=method == "HEAD")
        has_length = any(name.lower() == b"content-length" for name, _ in headers)
        lines = [
            b"%s %s%s HTTP/1.1\r\nHost: %s\r\n"
            % (method.encode(), self.base_path, target, self.host_header)
        ]
        lines.extend(b"%s: %s\r\n" % header for header in headers)
        if self.authorization is not None and not any(
            name.lower() == b"authorization" for name, _ in headers
        ):
            lines.append(b"Authorization: %s\r\n" % self.authorization)
        streamed = body is not None and not isinstance(body, bytes)
        if isinstance(body, bytes) and not has_length:
            lines.append(b"Content-Length: %d\r\n" % len(body))
        elif streamed and not has_length:
            lines.append(b"Transfer-Encoding: chunked\r\n")
        lines.append(b"\r\n")
        transport = connection.transport
        assert transport is not None
        try:
            if isinstance(body, bytes):
                lines.append(body)
            transport.writelines(lines)
            if streamed:
                assert body is not None and not isinstance(body, bytes)
                connection.body_writer = asyncio.create_task(
                    write_body(connection, body, chunked=not has_length)
                )
            while not connection.status and connection.error is None:
                await connection.wait(self.read_timeout_seconds)
            if connection.error is not None:
                raise connection.error
        except BaseException:
            connection.abort()
            raise
        return UpstreamResponse(self, connection)

    def release(self, connection: Connection) -> None:
        """Pool a connection whose exchange ended cleanly; drop any other."""
        writer = connection.body_writer
        clean = connection.reusable and not connection.closed and connection.done
        if clean and (writer is None or writer.done()) and len(self._idle) < MAX_IDLE_CONNECTIONS:
            connection.in_use, connection.body_writer = False, None
            self._idle.append(connection)
        else:
            connection.abort()

    async def close(self) -> None:
        """Close every pooled connection."""
        while self._idle:
            connection = self._idle.pop()
            if connection.transport is not None:
                connection.transport.close()

    async def __aenter__(self) -> UpstreamPool:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _connection(self) -> Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        loop = asyncio.get_running_loop()
        where = f"{self.host}:{self.port}"
        try:
            async with asyncio.timeout(self.connect_timeout_seconds):
                _, connection = await loop.create_connection(
                    Connection,
                    self.host,
                    self.port,
                    ssl=self.ssl_context,
                    server_hostname=self.host if self.ssl_context else None,
                )
        except TimeoutError as error:
            raise UpstreamTimeoutError(f"connecting to {where} timed out") from error
        except OSError as error:
            raise UpstreamError(f"cannot connect to {where}: {error}") from error
        return connection
