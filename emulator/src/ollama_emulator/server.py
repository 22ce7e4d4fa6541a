"""Run the emulator under uvicorn in this process, on a random loopback port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Generator

import uvicorn

from ollama_emulator.app import EmulatorApp, create_app
from ollama_emulator.config import EmulatorConfig, fast_config

STARTUP_TIMEOUT_SECONDS = 10.0


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host program."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serve_app(app: EmulatorApp, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve `app` until the block ends; yields its base URL (`http://127.0.0.1:PORT`)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        http="httptools",
        timeout_graceful_shutdown=1,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_SECONDS):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("emulator stopped during startup")
                await asyncio.sleep(0.005)
        bound_port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, STARTUP_TIMEOUT_SECONDS)


@contextlib.asynccontextmanager
async def running_emulator(config: EmulatorConfig | None = None) -> AsyncIterator[str]:
    """An emulator with `config` (default: the fast test models); yields its base URL."""
    async with serve_app(create_app(config or fast_config())) as base_url:
        yield base_url
