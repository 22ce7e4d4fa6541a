"""Connections served under `limited_protocol` send at once (TCP_NODELAY), even when the
listening socket was made without naming TCP (`socket.socket(AF_INET)`, protocol 0), where
asyncio leaves the option off: every response after a kept-alive connection's first then
waited for the client's delayed ACK (40 ms; the gateway's socket was made so until 2746f24)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import Generator

import uvicorn

from ollamon_http import HttpLimits, RefusalLog, limited_protocol
from tests.support.asgi import Receive, Scope, Send
from tests.support.nodelay import kept_alive_connection
from tests.support.waiting import wait_for

LIMITS = HttpLimits(
    max_header_bytes=8 * 1024,
    header_timeout_seconds=5.0,
    body_idle_timeout_seconds=5.0,
    max_connections=20,
)


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def test_a_connection_accepted_from_a_protocol_0_socket_has_tcp_nodelay() -> None:
    listening = socket.socket(socket.AF_INET)  # protocol 0: asyncio would not set it
    listening.bind(("127.0.0.1", 0))
    refusals = RefusalLog("the test server", Counter())
    config = uvicorn.Config(
        ok,
        http=limited_protocol(LIMITS, refusals),
        ws="none",
        lifespan="off",
        log_config=None,
        log_level="warning",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        await wait_for(lambda: server.started or task.done(), message="the server started")
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        async with kept_alive_connection(url, "/") as nodelay:
            assert nodelay
    finally:
        server.should_exit = True
        await task
        listening.close()
        refusals.close()
