"""Serving the app with uvicorn inside a service's own event loop."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter

import uvicorn
from litestar import Litestar

from ollamon_gateway.settings import GatewaySettings
from ollamon_http import EmbeddedServer, HttpLimits, RefusalLog, limited_protocol

GRACEFUL_SHUTDOWN_SECONDS = 5
STARTUP_TIMEOUT_SECONDS = 30.0


def gateway_limits(settings: GatewaySettings) -> HttpLimits:
    """What the gateway allows its clients (`OLLAMON_GATEWAY_MAX_HEADER_BYTES`, ...)."""
    return HttpLimits(
        max_header_bytes=settings.gateway_max_header_bytes,
        header_timeout_seconds=settings.gateway_header_timeout_seconds,
        body_idle_timeout_seconds=settings.gateway_body_idle_timeout_seconds,
        max_connections=settings.gateway_max_connections,
    )


DEFAULT_LIMITS = gateway_limits(GatewaySettings.model_construct())


class AppServer:
    """A uvicorn server for one gateway app, started and stopped from async code.

    httptools parses HTTP under `limits` (`ollamon_http.limited_protocol`: head size, head
    and body read timeouts, open connections); what is refused is counted in `counters`
    (the heartbeat's) and logged rate-limited.
    """

    def __init__(
        self,
        app: Litestar,
        host: str,
        port: int,
        *,
        log_level: str = "info",
        limits: HttpLimits = DEFAULT_LIMITS,
        counters: Counter[str] | None = None,
    ) -> None:
        self.app = app
        self.refusals = RefusalLog("the gateway", counters if counters is not None else Counter())
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
        # and without it every response after a connection's first (head and body are two
        # writes) waited for the client's delayed ACK, 40 ms.
        self._socket = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET,
            socket.SOCK_STREAM,
            socket.IPPROTO_TCP,
        )
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._host = host
        self._port = port
        self._server = EmbeddedServer(
            uvicorn.Config(
                app,
                http=limited_protocol(limits, self.refusals),
                ws="none",
                log_level=log_level.lower(),
                log_config=None,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                access_log=False,
                backlog=4096,
            )
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """Base URL of the server."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind, start serving, and return once the app's lifespan has started."""
        self._socket.bind((self._host, self._port))
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_SECONDS
        while not self._server.started:
            if self._task.done():
                await self._task  # raises the startup failure
                raise RuntimeError("the gateway server stopped during startup")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the gateway server did not start")
            await asyncio.sleep(0.01)

    async def wait_exited(self) -> None:
        """Return once uvicorn exits (raising its error); cancelling this leaves it serving."""
        if self._task is not None:
            await asyncio.wait({self._task})
            self._task.result()

    async def stop(self) -> None:
        """End every stream, then let uvicorn finish its connections and the lifespan."""
        self.app.state.gateway.fanout.close()
        self._server.should_exit = True
        try:
            if self._task is not None:
                await self._task
        finally:
            self._socket.close()
            self.refusals.close()
