"""The connection's own events (`ollamon_core.bus.connection`)."""

from __future__ import annotations

import asyncio

from ollamon_cli.nats_server import NatsServer
from ollamon_core.bus import Bus
from ollamon_core.events import ServiceName
from tests.support.waiting import wait_for


async def test_closing_the_bus_is_not_counted_as_a_disconnect(clean_nats_url: str) -> None:
    bus = await Bus.connect(clean_nats_url, ServiceName.COLLECTOR)
    await bus.close()
    assert bus.counters["disconnects"] == 0


async def test_a_server_restart_is_counted_as_a_disconnect_and_a_reconnect(
    isolated_nats_server: NatsServer,
) -> None:
    bus = await Bus.connect(isolated_nats_server.url, ServiceName.COLLECTOR)
    try:
        await asyncio.to_thread(isolated_nats_server.restart)
        await wait_for(lambda: bus.counters["reconnects"] == 1, timeout=10, message="reconnect")
        assert bus.counters["disconnects"] >= 1
        assert bus.nc.is_connected
    finally:
        await bus.close()
