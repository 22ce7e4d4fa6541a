"""The gateway's server answers each request of a kept-alive connection at once: its
connections send without Nagle's delay (TCP_NODELAY). Without it every request after the
first on a connection waited for the client's delayed ACK: 44 ms on Linux, found by the
fleet_scale bench."""

from __future__ import annotations

import inspect
import socket
import statistics
import time

import httpx
from litestar import Litestar

from ollamon_gateway.server import AppServer
from tests.support.nodelay import kept_alive_connection

KEPT_ALIVE_REQUESTS = 15
# A delayed ACK is 40 ms on Linux; a request the gateway answers alone takes a few ms.
AT_ONCE_MS = 20.0


def test_the_listening_socket_is_tcp_so_the_loop_sets_nodelay_on_each_connection(
    live_server: AppServer,
) -> None:
    listening = live_server._socket  # the socket asyncio accepts from
    assert listening.proto == socket.IPPROTO_TCP


async def test_requests_on_a_kept_alive_connection_are_answered_without_a_delayed_ack(
    client: httpx.AsyncClient,
) -> None:
    timings = []
    for _ in range(KEPT_ALIVE_REQUESTS):
        started = time.perf_counter()
        response = await client.get("/metrics")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    assert statistics.median(timings[1:]) < AT_ONCE_MS, timings


async def test_a_connection_the_gateway_accepted_has_tcp_nodelay(live_server: AppServer) -> None:
    async with kept_alive_connection(live_server.url, "/metrics") as nodelay:
        assert nodelay


def test_every_guard_runs_on_the_event_loop_not_in_litestars_thread_pool(app: Litestar) -> None:
    # Litestar hands a plain-function guard to its thread pool on every request: ~0.1 ms each,
    # most of what /status cost over a bare Litestar app (bench rest_keepalive).
    assert app.guards
    assert all(inspect.iscoroutinefunction(guard) for guard in app.guards), app.guards
