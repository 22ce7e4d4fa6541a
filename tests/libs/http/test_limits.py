"""uvicorn under `limited_protocol`: huge and slow heads, stalled bodies and too many
connections are cut off, while well-behaved clients are answered; bodies are never limited
in size, only in stalls on the client's side. Real sockets over loopback, small limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn

from ollamon_http import HttpLimits, RefusalLog, limited_protocol
from tests.support.asgi import Receive, Scope, Send, read_body_size
from tests.support.hostile_clients import (
    Slowloris,
    StalledBody,
    host_and_port,
    huge_head,
    status_of,
)
from tests.support.waiting import wait_for

LIMITS = HttpLimits(
    max_header_bytes=8 * 1024,
    header_timeout_seconds=0.5,
    body_idle_timeout_seconds=0.5,
    max_connections=20,
)


@dataclass
class Recorder:
    """Answers 200 with the size of the body it read; `read_after` delays reading the body
    (a slow app), `hold` the reply; records the requests whose client went away."""

    read_after: float = 0.0
    hold: bool = False  # answer only once `release` is set
    release: asyncio.Event = field(default_factory=asyncio.Event)
    requests: int = 0
    disconnects: int = 0
    bodies: list[int] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        if self.read_after:
            await asyncio.sleep(self.read_after)
        size, ended = await read_body_size(receive)
        if not ended:
            self.disconnects += 1
            return
        self.bodies.append(size)
        if self.hold:
            await self.release.wait()
        body = str(size).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass
class Served:
    url: str
    app: Recorder
    counters: Counter[str]


@contextlib.asynccontextmanager
async def served(
    app: Recorder, limits: HttpLimits = LIMITS, summary_seconds: float = 60.0
) -> AsyncIterator[Served]:
    counters: Counter[str] = Counter()
    refusals = RefusalLog("the test server", counters, interval_seconds=summary_seconds)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http=limited_protocol(limits, refusals),
        ws="none",
        lifespan="off",
        log_config=None,
        log_level="warning",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: server.started or task.done(), message="the server started")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Served(f"http://127.0.0.1:{port}", app, counters)
    finally:
        server.should_exit = True
        await task
        refusals.close()


@pytest.fixture
async def server() -> AsyncIterator[Served]:
    async with served(Recorder()) as running:
        yield running


async def test_a_head_over_the_limit_gets_431_or_a_closed_connection_and_never_the_app(
    server: Served,
) -> None:
    ending = await huge_head(server.url, 2 * 1024 * 1024)
    print(f"a 2 MiB head: {ending}")
    assert ending.status in (431, None)  # None: reset before the reply could be read
    assert server.counters["http_oversized_heads"] == 1
    assert server.app.requests == 0


async def test_a_head_within_the_limit_is_served(server: Served) -> None:
    async with httpx.AsyncClient() as client:
        reply = await client.get(server.url, headers={"x-fill": "f" * 7000})
    assert reply.status_code == 200


async def test_a_slowloris_head_is_cut_while_a_normal_client_is_answered(server: Served) -> None:
    slow = Slowloris(server.url).start()
    answered = 0
    try:
        await slow.connected.wait()
        async with httpx.AsyncClient(base_url=server.url) as client:
            while not slow.ending.reply and not slow.ending.reset:
                assert (await client.get("/")).status_code == 200
                answered += 1
        ending = await slow.cut()
    finally:
        slow.stop()
    print(f"slowloris: {ending.sent_bytes} bytes sent, then {ending}; {answered} answered")
    assert ending.status == 408
    assert answered >= 1
    assert server.counters["http_head_timeouts"] == 1


async def test_a_connection_that_sends_nothing_is_closed_without_a_reply(server: Served) -> None:
    reader, writer = await asyncio.open_connection(*host_and_port(server.url))
    async with asyncio.timeout(30):
        assert await reader.read() == b""
    writer.close()
    assert server.counters["http_head_timeouts"] == 1


async def test_a_stalled_body_gets_408_and_the_app_sees_the_client_go(server: Served) -> None:
    stalled = StalledBody(server.url, "/upload", 10_000, b'{"model": "x", ').start()
    ending = await stalled.cut()
    assert ending.status == 408
    await wait_for(lambda: server.app.disconnects == 1, message="the app saw the disconnect")
    assert server.counters["http_body_timeouts"] == 1


async def test_a_body_trickling_in_a_byte_at_a_time_is_cut(server: Served) -> None:
    reader, writer = await asyncio.open_connection(*host_and_port(server.url))
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    reply = b""
    with contextlib.suppress(ConnectionError):
        while not reader.at_eof():
            writer.write(b"t")  # 20 bytes a second: under 1 KiB per idle timeout
            with contextlib.suppress(TimeoutError):
                reply += await asyncio.wait_for(reader.read(65536), 0.05)
    writer.close()
    assert status_of(reply) == 408
    await wait_for(lambda: server.app.disconnects == 1, message="the app saw the disconnect")
    assert server.counters["http_body_timeouts"] == 1


async def test_a_steady_body_outlasting_the_idle_timeout_passes(server: Served) -> None:
    pieces = 40  # one every 25 ms: 1 s in all, twice the idle timeout

    async def steady() -> AsyncIterator[bytes]:
        for _ in range(pieces):
            yield b"p" * 1000
            await asyncio.sleep(0.025)

    async with httpx.AsyncClient() as client:
        reply = await client.post(server.url, content=steady())
    assert (reply.status_code, reply.text) == (200, str(pieces * 1000))
    assert server.counters["http_body_timeouts"] == 0


async def test_a_body_the_app_reads_late_is_not_cut() -> None:
    # The server stops reading above 64 KiB unread: the client is not stalling, the app is.
    async with served(Recorder(read_after=3 * LIMITS.body_idle_timeout_seconds)) as running:
        async with httpx.AsyncClient(timeout=30) as client:
            reply = await client.post(running.url, content=b"b" * 4_000_000)
        assert (reply.status_code, reply.text) == (200, "4000000")
        assert running.counters["http_body_timeouts"] == 0


async def test_a_client_waiting_for_100_continue_is_not_stalling() -> None:
    # curl sends `Expect: 100-continue` for large bodies; uvicorn answers it only once the
    # app reads, here after twice the idle timeout.
    async with served(Recorder(read_after=2 * LIMITS.body_idle_timeout_seconds)) as running:
        reader, writer = await asyncio.open_connection(*host_and_port(running.url))
        writer.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        async with asyncio.timeout(10):
            assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(b"12345")
            reply = await reader.readuntil(b"5")
        writer.close()
        assert status_of(reply) == 200
        assert running.counters["http_body_timeouts"] == 0


async def test_pipelined_requests_are_each_answered(server: Served) -> None:
    reader, writer = await asyncio.open_connection(*host_and_port(server.url))
    request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    writer.write(request * 3 + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    async with asyncio.timeout(10):
        replies = await reader.read()
    writer.close()
    assert replies.count(b"HTTP/1.1 200 OK") == 4
    assert server.app.bodies == [3, 3, 3, 0]


async def test_at_the_connection_cap_the_longest_idle_connection_makes_room() -> None:
    limits = HttpLimits(8 * 1024, 30.0, 30.0, max_connections=3)
    async with served(Recorder(), limits) as running:
        idle = [await asyncio.open_connection(*host_and_port(running.url)) for _ in range(3)]
        async with httpx.AsyncClient() as client:
            assert (await client.get(running.url)).status_code == 200
        oldest_reader, _ = idle[0]
        async with asyncio.timeout(10):
            assert await oldest_reader.read() == b""  # closed, without a reply
        for _, writer in idle:
            writer.close()
    assert running.counters["http_shed_connections"] == 1
    assert running.counters["http_refused_connections"] == 0


async def test_at_the_cap_with_every_connection_busy_a_new_one_gets_503_until_one_ends() -> None:
    limits = HttpLimits(8 * 1024, 30.0, 30.0, max_connections=3)
    async with served(Recorder(hold=True), limits) as running:
        async with httpx.AsyncClient(timeout=30) as held:
            busy = [asyncio.create_task(held.get(running.url)) for _ in range(3)]
            await wait_for(lambda: running.app.requests == 3, message="three requests held")
            reader, writer = await asyncio.open_connection(*host_and_port(running.url))
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            with contextlib.suppress(ConnectionError):  # or reset before it could be read
                async with asyncio.timeout(10):
                    assert status_of(await reader.read()) == 503
            writer.close()
            assert running.counters["http_refused_connections"] == 1
            running.app.release.set()
            assert [(await reply).status_code for reply in busy] == [200] * 3
        async with httpx.AsyncClient() as client:
            assert (await client.get(running.url)).status_code == 200


async def test_malformed_requests_get_400_and_are_logged_once_then_summed_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    async with served(Recorder(), summary_seconds=0.5) as running:
        for _ in range(50):
            reader, writer = await asyncio.open_connection(*host_and_port(running.url))
            writer.write(b"\x00\x01 not http\r\n\r\n")
            async with asyncio.timeout(10):
                assert status_of(await reader.read()) == 400
            writer.close()
        await wait_for(
            lambda: "also refused" in caplog.text, timeout=10, message="the summary line"
        )
    lines = [record.getMessage() for record in caplog.records]
    print("\n".join(lines))
    assert running.counters["http_malformed_requests"] == 50
    assert len(lines) == 2
    assert "refused malformed request from 127.0.0.1:" in lines[0]
    assert "49 x malformed request" in lines[1]
    assert not any(record.exc_info for record in caplog.records)


async def test_an_unsupported_upgrade_is_answered_then_its_connection_closed(
    server: Served,
) -> None:
    reader, writer = await asyncio.open_connection(*host_and_port(server.url))
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    async with asyncio.timeout(10):
        reply = await reader.read()
    writer.close()
    assert status_of(reply) == 200
    assert server.counters["http_unsupported_upgrades"] == 1
