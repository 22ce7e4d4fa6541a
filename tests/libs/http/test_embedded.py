"""`EmbeddedServer`: uvicorn in the service's own loop wakes once a second while idle (not
ten times), still answers, and stops at once when told to."""

from __future__ import annotations

import asyncio
import time

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


async def test_an_idle_server_ticks_once_a_second_answers_and_stops_at_once() -> None:
    server = CountingServer(config())
    serving = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started, timeout=10)
    port = server.servers[0].sockets[0].getsockname()[1]

    ticks_before = server.ticks
    await asyncio.sleep(2.0)
    assert server.ticks - ticks_before <= 3  # uvicorn's own loop: 20

    async with httpx.AsyncClient() as http:
        reply = await http.get(f"http://127.0.0.1:{port}/")
    assert reply.text == "hello"
    assert "date" in reply.headers

    asked = time.monotonic()
    server.should_exit = True
    await asyncio.wait_for(serving, 5)
    assert time.monotonic() - asked < 0.5
