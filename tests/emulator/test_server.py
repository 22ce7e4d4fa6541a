"""The emulator's connections send at once (TCP_NODELAY), as Ollama's do (Go sets it on every
TCP connection): a bench through it measures the proxy, not Nagle's delay."""

from __future__ import annotations

from tests.emulator.conftest import RunningEmulator
from tests.support.nodelay import kept_alive_connection


async def test_a_connection_the_emulator_accepted_has_tcp_nodelay(
    emulator: RunningEmulator,
) -> None:
    async with kept_alive_connection(emulator.url, "/api/version") as nodelay:
        assert nodelay
