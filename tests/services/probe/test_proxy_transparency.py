"""The proxy's upstream client changes nothing on the way and keeps its connections."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ollamon_core.events import OllamaModelMetrics
from tests.services.probe.echo_upstream import GZIPPED_TEXT, EchoUpstream
from tests.services.probe.sinks import FrontedProxy, proxy_in_front_of
from tests.support.waiting import wait_for

READ_TIMEOUT_SECONDS = 0.3


EchoProxy = FrontedProxy[EchoUpstream]
"""A proxy in front of the echo upstream."""


@pytest.fixture
async def echo_proxy() -> AsyncIterator[EchoProxy]:
    async with proxy_in_front_of(
        EchoUpstream(), upstream_timeout_seconds=READ_TIMEOUT_SECONDS
    ) as proxy:
        yield proxy


async def raw_request(url: str, request: bytes) -> bytes:
    """Send bytes exactly as written; the reply up to the server closing (send `close`)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        async with asyncio.timeout(5):
            return await reader.read()
    finally:
        writer.close()


async def test_path_query_and_headers_reach_ollama_as_the_client_sent_them(
    echo_proxy: EchoProxy,
) -> None:
    reply = await raw_request(
        echo_proxy.url,
        b"GET /echo/a%2Fb/../c//d?x=1&y=%20&z HTTP/1.1\r\n"
        b"Host: the-proxy\r\n"
        b"User-Agent: ollama-python/0.5\r\n"
        b"X-Custom: one\r\n"
        b"X-Custom: two\r\n"
        b"Keep-Alive: timeout=5\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 200")
    [seen] = echo_proxy.upstream.seen
    assert (seen.method, seen.raw_path) == ("GET", b"/echo/a%2Fb/../c//d")
    assert seen.query == b"x=1&y=%20&z"
    assert echo_proxy.upstream.header(0, b"user-agent") == [b"ollama-python/0.5"]
    assert echo_proxy.upstream.header(0, b"x-custom") == [b"one", b"two"]
    assert echo_proxy.upstream.header(0, b"host") == [echo_proxy.app.upstream_url[7:].encode()]
    # Nothing of the client library's own, nothing hop-by-hop.
    for added in (b"accept", b"accept-encoding", b"content-type", b"cookie", b"keep-alive"):
        assert echo_proxy.upstream.header(0, added) == []


async def test_a_gzip_reply_passes_through_undecoded(echo_proxy: EchoProxy) -> None:
    async with (
        httpx.AsyncClient(base_url=echo_proxy.url) as http,
        http.stream("GET", "/gzip") as reply,
    ):
        raw = b"".join([chunk async for chunk in reply.aiter_raw()])
    assert reply.headers["content-encoding"] == "gzip"
    assert int(reply.headers["content-length"]) == len(raw)
    assert gzip.decompress(raw) == GZIPPED_TEXT


async def test_cookies_from_ollama_reach_the_client_and_are_never_replayed(
    echo_proxy: EchoProxy,
) -> None:
    async with httpx.AsyncClient(base_url=echo_proxy.url) as first:
        reply = await first.get("/cookie")
    assert reply.headers["set-cookie"] == "session=secret; Path=/"
    async with httpx.AsyncClient(base_url=echo_proxy.url) as second:
        await second.get("/echo")
    assert echo_proxy.upstream.header(1, b"cookie") == []


async def test_connections_to_ollama_are_kept_alive_and_reused(echo_proxy: EchoProxy) -> None:
    async with httpx.AsyncClient(base_url=echo_proxy.url) as http:
        for _ in range(5):
            (await http.post("/echo", content=b"{}")).raise_for_status()
    assert len({seen.client_port for seen in echo_proxy.upstream.seen}) == 1


async def test_a_chunked_request_body_streams_through_whole(echo_proxy: EchoProxy) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 10_000
            await asyncio.sleep(0.001)

    async with httpx.AsyncClient(base_url=echo_proxy.url) as http:
        reply = await http.post("/echo", content=pieces())
    assert reply.json() == {"method": "POST", "body_size": 400_000}
    assert echo_proxy.upstream.header(0, b"transfer-encoding") == [b"chunked"]
    assert echo_proxy.upstream.seen[0].body_complete


async def test_a_client_leaving_mid_body_is_a_cancelled_request(echo_proxy: EchoProxy) -> None:
    host, port = echo_proxy.url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /api/generate HTTP/1.1\r\nHost: p\r\nContent-Length: 100000\r\n\r\n"
        b'{"model": "m1", "prompt": "'
    )
    await wait_for(lambda: echo_proxy.upstream.seen, timeout=5, message="the forwarded head")
    writer.close()
    await wait_for(lambda: echo_proxy.sink.events, timeout=5, message="the cancelled event")
    [event] = echo_proxy.sink.events
    assert isinstance(event, OllamaModelMetrics)
    assert (event.status_code, event.cancelled, event.error_occurred) == (499, True, False)
    assert event.request_bytes == 27  # what the client sent before it left
    assert echo_proxy.app.counters["cancelled_requests"] == 1
    assert echo_proxy.app.counters["upstream_errors"] == 0
    await wait_for(lambda: not echo_proxy.upstream.seen[0].body_complete, timeout=5)


async def test_an_ollama_that_never_answers_gives_504(echo_proxy: EchoProxy) -> None:
    async with httpx.AsyncClient(base_url=echo_proxy.url) as http:
        reply = await http.post("/hang", content=b"{}")
    body: dict[str, Any] = reply.json()
    assert reply.status_code == 504
    assert body["error"].startswith("ollamon proxy timed out waiting for Ollama at")
    assert echo_proxy.app.counters["upstream_errors"] == 1
    # The next request still gets through (the stuck connection was not reused).
    async with httpx.AsyncClient(base_url=echo_proxy.url) as http:
        assert json.loads((await http.get("/echo")).content)["method"] == "GET"
