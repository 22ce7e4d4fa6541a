"""An Ollama emulator that a test can stop, restart, or make fail on command.

`FaultyOllama` serves the emulator behind a small ASGI switch on a fixed loopback port, so
the probe keeps the same URL across a stop and a restart. Generation requests (POSTs) can be
answered with Ollama's 500 error, or have their stream cut after the first chunk (the
connection is dropped mid-way, as when a runner dies); GETs (`/api/version`, `/api/ps`)
keep working in those modes, as they do on a real server whose runner fails.
"""

from __future__ import annotations

import contextlib
from enum import StrEnum
from typing import Any

from ollama_emulator.app import create_app
from ollama_emulator.asgi import JSON, Message, Receive, Scope, Send, dumps, send_bytes
from ollama_emulator.config import EmulatorConfig
from ollama_emulator.server import serve_app
from ollamon_cli.nats_server import free_port

SERVER_ERROR_MESSAGE = "llama runner process has terminated: exit status 2"


class Fault(StrEnum):
    """What generation requests get."""

    NONE = "none"
    SERVER_ERROR = "server_error"
    DROP_STREAM = "drop_stream"


class StreamDroppedError(Exception):
    """Raised inside the ASGI app so uvicorn closes the connection mid-response."""


class FaultSwitch:
    """ASGI app: the emulator, or the configured fault for POST requests."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.emulator = create_app(config)
        self.fault = Fault.NONE
        self.faulted_requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or self.fault is Fault.NONE:
            await self.emulator(scope, receive, send)
            return
        self.faulted_requests += 1
        if self.fault is Fault.SERVER_ERROR:
            await send_bytes(send, 500, dumps({"error": SERVER_ERROR_MESSAGE}), JSON)
            return
        await self.emulator(scope, receive, _cut_after_first_chunk(send))


def _cut_after_first_chunk(send: Send) -> Send:
    chunks_sent = 0

    async def cut(message: Message) -> None:
        nonlocal chunks_sent
        if message["type"] == "http.response.body":
            if chunks_sent >= 1:
                raise StreamDroppedError("stream dropped by the fault switch")
            chunks_sent += 1
            # Keep the response open so the client sees a stream that breaks, not one that ends.
            message = {**message, "more_body": True}
        await send(message)

    return cut


class FaultyOllama:
    """The switchable emulator on one fixed port, which survives stop and start."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.switch = FaultSwitch(config)
        self.port = free_port()
        self._serving: contextlib.AsyncExitStack | None = None

    @property
    def url(self) -> str:
        """The base URL the probe is pointed at."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """True while the server accepts connections."""
        return self._serving is not None

    async def start(self) -> None:
        """Serve (again) on the same port."""
        if self._serving is not None:
            return
        serving = contextlib.AsyncExitStack()
        await serving.enter_async_context(serve_app(self.switch, port=self.port))  # type: ignore[arg-type]
        self._serving = serving

    async def stop(self) -> None:
        """Stop serving: connections are refused until `start`."""
        if self._serving is not None:
            serving, self._serving = self._serving, None
            await serving.aclose()

    def set_fault(self, fault: Fault) -> None:
        """Change what generation requests get from now on."""
        self.switch.fault = fault

    async def __aenter__(self) -> FaultyOllama:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()
