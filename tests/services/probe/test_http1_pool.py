"""The proxy's HTTP/1.1 client against a real socket server that answers with set bytes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from ollamon_probe.http1_connection import HIGH_WATER_BYTES
from ollamon_probe.http1_pool import UpstreamError, UpstreamPool, UpstreamResponse
from tests.support.waiting import wait_for

OK_2 = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Canned:
    """A TCP server answering each request it reads with the next of `replies`."""

    replies: list[bytes]
    close_after_reply: bool = False
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.replies:
                head = await reader.readuntil(b"\r\n\r\n")
                if b"transfer-encoding: chunked" in head.lower():
                    body = await reader.readuntil(b"0\r\n\r\n")
                else:
                    length = next(
                        (
                            int(line.split(b":")[1])
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length:")
                        ),
                        0,
                    )
                    body = await reader.readexactly(length)
                self.requests.append(head + body)
                writer.write(self.replies.pop(0))
                await writer.drain()
                if self.close_after_reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def canned(*replies: bytes, close_after_reply: bool = False) -> AsyncIterator[Canned]:
    server_state = Canned(list(replies), close_after_reply)
    server = await asyncio.start_server(server_state.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server_state.url = f"http://127.0.0.1:{port}"
    try:
        yield server_state
    finally:
        server.close()


def pool_to(url: str) -> UpstreamPool:
    return UpstreamPool(url, connect_timeout_seconds=2.0, read_timeout_seconds=2.0)


def closed_by_ollama(response: UpstreamResponse) -> Callable[[], bool]:
    """A condition: the connection under `response` saw Ollama close it."""
    connection = response._connection
    return lambda: connection.closed


async def whole(response: UpstreamResponse) -> tuple[bytes, list[bool]]:
    """The body and the `last` flags of its pieces."""
    body, flags = b"", []
    async for piece, last in response.pieces():
        body += piece
        flags.append(last)
    return body, flags


async def test_the_request_goes_out_as_given_under_the_urls_path() -> None:
    async with canned(OK_2) as server, pool_to(server.url + "/ollama/") as pool:
        response = await pool.request(
            "POST", b"/api/x?y=%20", [(b"X-Custom", b"1"), (b"content-length", b"2")], b"{}"
        )
        assert await whole(response) == (b"ok", [True])
    host = server.url.removeprefix("http://").encode()
    assert server.requests == [
        b"POST /ollama/api/x?y=%20 HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"X-Custom: 1\r\ncontent-length: 2\r\n\r\n{}"
    ]


async def test_a_chunked_reply_arrives_decoded_on_a_reused_connection() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    async with canned(chunked, chunked) as server, pool_to(server.url) as pool:
        for _ in range(2):
            response = await pool.request("GET", b"/", [], None)
            body, flags = await whole(response)
            response.release()
            assert (response.status, body, flags[-1]) == (200, b"abcde", True)
    assert server.connections == 1


async def test_a_head_reply_ends_at_its_headers_and_its_connection_is_dropped() -> None:
    head_reply = b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n"
    async with canned(head_reply, OK_2) as server, pool_to(server.url) as pool:
        response = await pool.request("HEAD", b"/", [], None)
        assert await whole(response) == (b"", [True])
        assert response.header(b"content-length") == b"42"
        response.release()
        assert await whole(await pool.request("GET", b"/", [], None)) == (b"ok", [True])
    assert server.connections == 2


async def test_interim_replies_are_skipped() -> None:
    async with (
        canned(b"HTTP/1.1 100 Continue\r\n\r\n" + OK_2) as server,
        pool_to(server.url) as pool,
    ):
        response = await pool.request("POST", b"/", [(b"expect", b"100-continue")], b"{}")
        assert (response.status, await whole(response)) == (200, (b"ok", [True]))


async def test_a_body_without_length_ends_when_ollama_closes() -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
    async with canned(reply, close_after_reply=True) as server, pool_to(server.url) as pool:
        response = await pool.request("GET", b"/", [], None)
        body, flags = await whole(response)
    assert (body, flags[-1]) == (b"until the end", True)


async def test_a_connection_ollama_closed_while_idle_is_not_reused() -> None:
    async with canned(OK_2, OK_2, close_after_reply=True) as server, pool_to(server.url) as pool:
        for _ in range(2):
            response = await pool.request("GET", b"/", [], None)
            assert await whole(response) == (b"ok", [True])
            closed = closed_by_ollama(response)
            response.release()
            await wait_for(closed, message="Ollama's close reaching the pooled connection")
    assert server.connections == 2


async def test_a_streamed_body_without_length_goes_out_chunked() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"abc"
        yield b""
        yield b"de"

    async with canned(OK_2) as server, pool_to(server.url) as pool:
        response = await pool.request("POST", b"/", [], body())
        assert await whole(response) == (b"ok", [True])
    assert server.requests[0].endswith(
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )


async def test_a_body_that_breaks_off_fails_the_request_and_drops_the_connection() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"abc"
        raise ConnectionResetError("the client left")

    async with canned(OK_2) as server, pool_to(server.url) as pool:
        with pytest.raises(UpstreamError, match="the request body broke off"):
            await pool.request("POST", b"/", [], body())


async def test_reading_pauses_while_the_reader_lags_and_resumes() -> None:
    size = 4 * 1024 * 1024
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size
    async with canned(reply) as server, pool_to(server.url) as pool:
        response = await pool.request("GET", b"/", [], None)
        # A slow client reads nothing: the connection stops reading at its high-water mark.
        await wait_for(lambda: response._connection.paused, message="reading paused")
        buffered = sum(len(piece) for piece in response._connection.body)
        body, _ = await whole(response)
    assert buffered < 2 * HIGH_WATER_BYTES < size
    assert len(body) == size


async def test_an_unreadable_reply_is_an_upstream_error() -> None:
    async with canned(b"SMTP ready\r\n\r\n") as server, pool_to(server.url) as pool:
        with pytest.raises(UpstreamError, match="unreadable reply"):
            await pool.request("GET", b"/", [], None)


async def test_a_refused_connection_is_an_upstream_error_not_a_timeout() -> None:
    async with pool_to("http://127.0.0.1:9") as pool:
        with pytest.raises(UpstreamError, match="cannot connect") as raised:
            await pool.request("GET", b"/", [], None)
    assert not isinstance(raised.value, TimeoutError)


def test_only_http_urls_make_a_pool() -> None:
    with pytest.raises(ValueError, match="not an http"):
        pool_to("ftp://127.0.0.1:21")
