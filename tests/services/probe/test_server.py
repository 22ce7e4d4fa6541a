"""The proxy's connections send at once (TCP_NODELAY): a streamed chunk or a reply's body is
not held back by Nagle's algorithm until the client's delayed ACK (40 ms on Linux)."""

from __future__ import annotations

from tests.services.probe.conftest import RunningProxy
from tests.support.nodelay import kept_alive_connection


async def test_a_connection_the_proxy_accepted_has_tcp_nodelay(proxy: RunningProxy) -> None:
    async with kept_alive_connection(proxy.url, "/api/version") as nodelay:
        assert nodelay
