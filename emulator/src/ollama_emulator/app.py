"""The emulator as a raw ASGI app: routes, errors as Ollama writes them."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ollama_emulator import catalogue, llama_cpp, native, openai_compat
from ollama_emulator.asgi import (
    JSON,
    ApiError,
    Receive,
    Scope,
    Send,
    dumps,
    parse_json_body,
    read_body,
    send_bytes,
    send_json,
)
from ollama_emulator.config import EmulatorConfig
from ollama_emulator.engine import Engine
from ollama_emulator.server_log import ServerLog

log = logging.getLogger(__name__)

BodyHandler = Callable[[Engine, dict[str, Any], Receive, Send], Awaitable[None]]

_POST_ROUTES: dict[str, BodyHandler] = {
    "/api/generate": native.generate,
    "/api/chat": native.chat,
    "/api/embed": native.embed,
    "/api/embeddings": native.embeddings,
    "/v1/chat/completions": openai_compat.chat_completions,
    "/v1/completions": openai_compat.completions,
    "/v1/embeddings": openai_compat.embeddings,
}


class EmulatorApp:
    """An ASGI app emulating one Ollama server; `engine` holds its state and counters."""

    def __init__(
        self,
        config: EmulatorConfig,
        clock: Callable[[], float] = time.time,
        server_log: ServerLog | None = None,
    ) -> None:
        self.config = config
        self.engine = Engine(config, clock)
        self.server_log = server_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        self.engine.stats["requests"] += 1
        if self.server_log is not None:
            send = self.server_log.logging_send(scope, send)
        try:
            await self._route(scope["method"], path, receive, send)
        except ApiError as error:
            await self._error(path, error, send)
        finally:
            if self.server_log is not None:
                await self.server_log.request_ended(scope)

    async def _route(self, method: str, path: str, receive: Receive, send: Send) -> None:
        if self.config.backend == "llama.cpp" and await self._llama_cpp_only(method, path, send):
            return
        if path == "/" and method in ("GET", "HEAD"):
            await send_bytes(
                send,
                200,
                b"Ollama is running",
                b"text/plain; charset=utf-8",
                head_only=method == "HEAD",
            )
            return
        handler = _POST_ROUTES.get(path)
        if handler is not None:
            if method != "POST":
                raise ApiError(405, "405 method not allowed")
            body = parse_json_body(await read_body(receive))
            await handler(self.engine, body, receive, send)
            return
        if method in ("GET", "HEAD"):
            reply = self._get(path)
            if reply is not None:
                await send_json(send, 200, reply)
                return
        if path == "/api/show" and method == "POST":
            body = parse_json_body(await read_body(receive))
            spec = self.engine.resolve(body.get("model") or body.get("name"))
            await send_json(send, 200, catalogue.show(spec))
            return
        raise ApiError(404, "404 page not found")

    async def _llama_cpp_only(self, method: str, path: str, send: Send) -> bool:
        """llama.cpp's own GET routes; no `/api/*` (its 404). False for the shared routes."""
        if path.startswith("/api/") or (path == "/" and method not in ("GET", "HEAD")):
            raise ApiError(404, "404 File Not Found")
        if method not in ("GET", "HEAD"):
            return False
        if path == "/":
            await send_bytes(send, 200, b"<html>llama.cpp</html>", b"text/html")
        elif path == "/metrics":
            body = llama_cpp.metrics(self.config, self.engine)
            await send_bytes(send, 200, body, llama_cpp.METRICS_CONTENT_TYPE)
        elif path in ("/health", "/props", "/slots", "/v1/models"):
            replies: dict[str, object] = {
                "/health": llama_cpp.health(),
                "/props": llama_cpp.props(self.config),
                "/slots": llama_cpp.slots(self.config, self.engine),
                "/v1/models": llama_cpp.models(self.config),
            }
            await send_json(send, 200, replies[path])
        else:
            return False
        return True

    def _get(self, path: str) -> dict[str, Any] | None:
        if path == "/api/version":
            return {"version": self.config.version}
        if path == "/api/tags":
            return catalogue.tags(self.config)
        if path == "/api/ps":
            return catalogue.process_list(self.engine.residency.loaded())
        if path == "/v1/models":
            return openai_compat.models(self.config)
        return None

    async def _error(self, path: str, error: ApiError, send: Send) -> None:
        self.engine.stats[f"status_{error.status_code}"] += 1
        if error.message.startswith(f"{error.status_code} "):
            await send_bytes(send, error.status_code, error.message.encode(), b"text/plain")
            return
        if path.startswith("/v1/"):
            body: dict[str, Any] = openai_compat.error_body(error.status_code, error.message)
        else:
            body = {"error": error.message}
        await send_bytes(send, error.status_code, dumps(body), JSON)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(
    config: EmulatorConfig,
    clock: Callable[[], float] = time.time,
    server_log: ServerLog | None = None,
) -> EmulatorApp:
    """Build an emulator app for `config` (inject `clock` to drive keep_alive in tests;
    `server_log` writes gin's access-log lines as Ollama's server log holds them)."""
    return EmulatorApp(config, clock, server_log)
