"""The gateway service: the app over a connected bus, served by uvicorn in this event loop.

`running_gateway` reads top to bottom: connect, build the app (its lifespan subscribes to
every event subject), serve, watch uvicorn, beat. At the end the streams end first, then
uvicorn finishes its connections, then the bus drains.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from ollamon_core.events import ServiceName
from ollamon_core.runtime import service_runtime
from ollamon_gateway.app import create_app
from ollamon_gateway.server import AppServer, gateway_limits
from ollamon_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running_gateway(settings: GatewaySettings) -> AsyncIterator[AppServer]:
    """Serve the gateway until the block ends; yields the running server (its `url`)."""
    async with service_runtime(ServiceName.GATEWAY, settings) as runtime:
        server = AppServer(
            create_app(settings, runtime.bus),
            settings.gateway_host,
            settings.gateway_port,
            log_level=settings.log_level,
            limits=gateway_limits(settings),
            counters=runtime.bus.counters,
        )
        runtime.on_close(server.stop)
        await server.start()
        runtime.start_task(server.wait_exited(), name="http")  # uvicorn exiting stops us
        runtime.start_heartbeat()
        log.info("dashboard at %s/ollama-performance-dashboard", server.url)
        yield server
