"""`python -m ollamon_gateway`: REST, SSE and the dashboard, served by uvicorn."""

from __future__ import annotations

import asyncio
import logging

from ollamon_core.bus import Bus
from ollamon_core.events import ServiceName
from ollamon_core.runtime import configure_logging, heartbeat_loop, run_service
from ollamon_gateway.app import create_app
from ollamon_gateway.server import AppServer
from ollamon_gateway.settings import GatewaySettings

log = logging.getLogger("ollamon_gateway")


async def main(stop: asyncio.Event) -> None:
    """Serve until `stop` is set, then end the streams, stop uvicorn and drain the bus."""
    settings = GatewaySettings()
    configure_logging(settings.log_level, ServiceName.GATEWAY.value)
    bus = await Bus.connect(settings.nats_url, ServiceName.GATEWAY)
    await bus.ensure_streams()
    server = AppServer(
        create_app(settings, bus),
        settings.gateway_host,
        settings.gateway_port,
        log_level=settings.log_level,
    )
    await server.start()
    heartbeat = asyncio.create_task(
        heartbeat_loop(
            bus, ServiceName.GATEWAY, settings.host_label, settings.heartbeat_interval_seconds
        )
    )
    log.info("dashboard at %s/ollama-performance-dashboard", server.url)
    stopping = asyncio.create_task(stop.wait())
    finished = server.finished
    assert finished is not None  # set by start()
    await asyncio.wait({finished, stopping}, return_when=asyncio.FIRST_COMPLETED)
    await server.stop()
    for task in (heartbeat, stopping):
        task.cancel()
    await asyncio.gather(heartbeat, stopping, return_exceptions=True)
    await bus.close()


if __name__ == "__main__":
    run_service(main)
