"""Serve an ASGI app with uvicorn inside the service's own event loop, with client limits."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from ollamon_http import EmbeddedServer, HttpLimits, RefusalLog, limited_protocol
from ollamon_probe.settings import ProbeSettings

STARTUP_TIMEOUT_SECONDS = 10.0


def proxy_limits(settings: ProbeSettings) -> HttpLimits:
    """What the proxy allows its clients (`OLLAMON_PROXY_MAX_HEADER_BYTES`, ...)."""
    return HttpLimits(
        max_header_bytes=settings.proxy_max_header_bytes,
        header_timeout_seconds=settings.proxy_header_timeout_seconds,
        body_idle_timeout_seconds=settings.proxy_body_idle_timeout_seconds,
        max_connections=settings.proxy_max_connections,
    )


DEFAULT_LIMITS = proxy_limits(ProbeSettings.model_construct())


@contextlib.asynccontextmanager
async def serving(
    app: Any,
    host: str,
    port: int,
    limits: HttpLimits = DEFAULT_LIMITS,
    counters: Counter[str] | None = None,
) -> AsyncIterator[str]:
    """Serve `app` on host:port (0 picks a free port) until the block ends; yields its URL.

    httptools parses HTTP, under `limits` (`ollamon_http.limited_protocol`: head size, head
    and body read timeouts, open connections); what is refused is counted in `counters`
    (the heartbeat's) and logged rate-limited. uvicorn's own `server` and `date` headers are
    off so Ollama's headers pass through unchanged. No proxy-headers middleware and no
    access log: each costs time on every request, and the proxy forwards `X-Forwarded-*` as
    it got them. uvicorn logs through the service's logging. The event loop is the
    caller's (`python -m ollamon_probe` installs uvloop).
    """
    refusals = RefusalLog("the proxy", counters if counters is not None else Counter())
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=limited_protocol(limits, refusals),
        lifespan="off",
        log_level="warning",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        ws="none",
        server_header=False,
        date_header=False,
        timeout_keep_alive=75,
    )
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_SECONDS):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError(f"could not serve on {host}:{port}")
                await asyncio.sleep(0.005)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, STARTUP_TIMEOUT_SECONDS)
        refusals.close()
