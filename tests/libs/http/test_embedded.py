"""`EmbeddedServer`: uvicorn in the service's own loop does not wake while no connection
is open, once a second while one is (not ten times), answers with a current `Date`, and
stops at once when told to."""

from __future__ import annotations

import asyncio
import time
from email.utils import parsedate_to_datetime

import httpx
import uvicorn

from ollamon_http import EmbeddedServer
from tests.support.asgi import Receive, Scope, Send
from tests.support.waiting import wait_for


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


class CountingServer(EmbeddedServer):
    """Counts its main loop's ticks."""

    ticks = 0

    async def on_tick(self, counter: int) -> bool:
        self.ticks += 1
        return await super().on_tick(counter)


def config() -> uvicorn.Config:
    return uvicorn.Config(hello, host="127.0.0.1", port=0, lifespan="off", log_level="warning")


async def test_an_idle_server_does_not_tick_answers_with_a_current_date_and_stops_at_once() -> None:
    server = CountingServer(config())
    serving = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started, timeout=10)
    port = server.servers[0].sockets[0].getsockname()[1]

    ticks_before = server.ticks
    await asyncio.sleep(2.5)
    assert server.ticks - ticks_before == 0  # uvicorn's own loop: 25

    async with httpx.AsyncClient() as http:
        reply = await http.get(f"http://127.0.0.1:{port}/")
        assert reply.text == "hello"
        age = time.time() - parsedate_to_datetime(reply.headers["date"]).timestamp()
        assert age < 1.5  # refreshed when the connection opened, not 2.5 s old

        ticks_before = server.ticks
        await asyncio.sleep(2.2)  # the kept-alive connection is open: ticks once a second
        assert 1 <= server.ticks - ticks_before <= 4
        later = await http.get(f"http://127.0.0.1:{port}/")
        age = time.time() - parsedate_to_datetime(later.headers["date"]).timestamp()
        assert age < 2.5  # at most a tick old, in whole seconds

    asked = time.monotonic()
    server.should_exit = True
    await asyncio.wait_for(serving, 5)
    assert time.monotonic() - asked < 0.5
