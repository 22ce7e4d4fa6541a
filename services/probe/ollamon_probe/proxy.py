"""The transparent Ollama proxy: a raw ASGI app that forwards every request unchanged.

Request bodies stream upstream as they arrive and replies stream back chunk by chunk. For
generation and embedding calls an `Exchange` records timings and keeps bounded samples;
the event is built and queued (`emit`, never awaited) after the client has its last byte.
A client that leaves cancels the upstream request (recorded as 499); an unreachable Ollama
gives 502 with an Ollama-style `{"error": ...}` body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, Protocol

import httpx

from ollamon_core.events import Event
from ollamon_core.settings import ProbeSettings
from ollamon_probe.exchange import BAD_GATEWAY_STATUS, Exchange, is_measured
from ollamon_probe.hosts import host_labels
from ollamon_probe.request_event import Origin, build_event
from ollamon_probe.residency import Residency, ResidencyBook

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

GATEWAY_TIMEOUT_STATUS = 504
MAX_UNSENT_BODY_BYTES = 16 * 1024 * 1024
# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, not to the message.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)


class EventSink(Protocol):
    """Where events go without waiting (the bus's JetStream outbox)."""

    def emit(self, event: Event) -> bool:
        """Queue `event`; False if it could not be queued."""
        ...


class ClientGoneError(Exception):
    """The client disconnected before its request body was read."""


class _DisconnectWatch:
    """Cancels the request's task when its client disconnects before the reply ended."""

    __slots__ = ("finished", "gone", "task", "watcher")

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self.task = task
        self.gone = False
        self.finished = False
        self.watcher: asyncio.Task[None] | None = None

    def start(self, receive: Receive) -> None:
        if self.watcher is None:
            self.watcher = asyncio.create_task(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not self.finished and self.task is not None:
            self.gone = True
            self.task.cancel()

    def stop(self) -> None:
        self.finished = True
        if self.watcher is not None:
            self.watcher.cancel()


class ProxyApp:
    """Forward everything to one Ollama URL, measuring generation and embedding calls."""

    def __init__(
        self,
        upstream_url: str,
        origin: Origin,
        sink: EventSink,
        http_client: httpx.AsyncClient,
        residency: ResidencyBook,
        counters: Counter[str] | None = None,
    ) -> None:
        self.upstream_url = upstream_url.rstrip("/")
        self.origin = origin
        self.sink = sink
        self.http_client = http_client
        self.residency = residency
        self.counters: Counter[str] = counters if counters is not None else Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._proxy(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        started_at = time.perf_counter()
        method: str = scope["method"]
        exchange = (
            Exchange(started_at, scope["path"], method)
            if is_measured(method, scope["path"])
            else None
        )
        before = self.residency.view(self.origin.ollama_url) if exchange is not None else None
        self.counters["proxied_requests"] += 1
        watch = _DisconnectWatch(asyncio.current_task())
        request = self._upstream_request(scope, receive, exchange, watch)
        try:
            await self._exchange(request, receive, send, exchange, watch)
        finally:
            watch.stop()
            if exchange is not None:
                exchange.finished_at = exchange.finished_at or time.perf_counter()
                self._record(exchange, before)

    def _upstream_request(
        self, scope: Scope, receive: Receive, exchange: Exchange | None, watch: _DisconnectWatch
    ) -> httpx.Request:
        has_body = False
        headers: list[tuple[bytes, bytes]] = []
        for name, value in scope["headers"]:
            if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
                has_body = True
            if name not in HOP_BY_HOP:
                headers.append((name, value))
        target = self.upstream_url + scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        content = _body(receive, exchange, watch) if has_body else None
        if not has_body:
            watch.start(receive)
        # A bare Request (not client.build_request) so no client default headers are added.
        return httpx.Request(scope["method"], target, headers=headers, content=content)

    async def _exchange(
        self,
        request: httpx.Request,
        receive: Receive,
        send: Send,
        exchange: Exchange | None,
        watch: _DisconnectWatch,
    ) -> None:
        try:
            response = await self.http_client.send(request, stream=True)
        except (ClientGoneError, asyncio.CancelledError) as error:
            if isinstance(error, asyncio.CancelledError) and not _client_left(watch):
                raise
            self._cancelled(exchange)
            return
        except httpx.HTTPError as error:
            if exchange is not None and watch.watcher is None:
                await _sample_rest_of_body(receive, exchange)
            await self._bad_gateway(send, error, exchange)
            return
        try:
            await self._relay(response, send, exchange, watch)
        except asyncio.CancelledError:
            if not _client_left(watch):
                raise
            self._cancelled(exchange)
        except httpx.HTTPError as error:
            # Headers are gone already: record, then drop the connection (uvicorn closes it).
            self.counters["upstream_errors"] += 1
            if exchange is not None:
                exchange.transport_error = f"Ollama stream broke: {error!r}"
            raise
        finally:
            await response.aclose()

    async def _relay(
        self,
        response: httpx.Response,
        send: Send,
        exchange: Exchange | None,
        watch: _DisconnectWatch,
    ) -> None:
        headers = [
            (name.lower(), value)
            for name, value in response.headers.raw
            if name.lower() not in HOP_BY_HOP
        ]
        if exchange is not None:
            exchange.response_started(
                response.status_code, response.headers.get("content-type", "")
            )
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        async for chunk in response.aiter_raw():
            if exchange is not None:
                exchange.chunk(chunk, time.perf_counter())
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        watch.finished = True
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if exchange is not None:
            exchange.finished_at = time.perf_counter()

    def _cancelled(self, exchange: Exchange | None) -> None:
        self.counters["cancelled_requests"] += 1
        if exchange is not None:
            exchange.cancelled = True

    async def _bad_gateway(
        self, send: Send, error: httpx.HTTPError, exchange: Exchange | None
    ) -> None:
        self.counters["upstream_errors"] += 1
        timed_out = isinstance(error, httpx.TimeoutException)
        status = GATEWAY_TIMEOUT_STATUS if timed_out else BAD_GATEWAY_STATUS
        reason = "timed out waiting for" if timed_out else "could not reach"
        message = f"ollamon proxy {reason} Ollama at {self.upstream_url}: {error!r}"
        body = json.dumps({"error": message}).encode()
        if exchange is not None:
            exchange.status_code = status
            exchange.transport_error = message
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(self, exchange: Exchange, before: Residency | None) -> None:
        try:
            event = build_event(exchange, self.origin, before)
        except Exception:  # a measuring bug must never break the proxying
            self.counters["event_build_errors"] += 1
            log.exception("could not build the event of %s", exchange.endpoint)
            return
        self.counters["measured_requests"] += 1
        self.sink.emit(event)
        if not event.error_occurred and not event.cancelled and event.model_name:
            self.residency.note_served(self.origin.ollama_url, event.model_name)


def _client_left(watch: _DisconnectWatch) -> bool:
    """True when the cancellation came from the client leaving (then it is absorbed)."""
    if not watch.gone:
        return False
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
    return True


async def _body(
    receive: Receive, exchange: Exchange | None, watch: _DisconnectWatch
) -> AsyncIterator[bytes]:
    """The client's body, piece by piece, sampled for measuring; then watch for a disconnect."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGoneError
        chunk: bytes = message.get("body", b"")
        if chunk:
            if exchange is not None:
                exchange.body.feed(chunk)
            yield chunk
        if not message.get("more_body", False):
            break
    watch.start(receive)


async def _sample_rest_of_body(receive: Receive, exchange: Exchange) -> None:
    """Read what Ollama never got, so a failed request's event still names its model."""
    while exchange.body.size < MAX_UNSENT_BODY_BYTES:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        exchange.body.feed(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_proxy_app(
    settings: ProbeSettings,
    sink: EventSink,
    http_client: httpx.AsyncClient,
    residency: ResidencyBook,
    counters: Counter[str] | None = None,
) -> ProxyApp:
    """The proxy to the first Ollama URL of `settings`, labelled as the watcher labels it."""
    upstream = settings.ollama_urls[0]
    label = host_labels(settings.ollama_urls, settings.host_label)[upstream]
    return ProxyApp(upstream, Origin(upstream, label), sink, http_client, residency, counters)


def create_upstream_client(settings: ProbeSettings) -> httpx.AsyncClient:
    """One pooled HTTP client to Ollama: short connect, `upstream_timeout_seconds` reads."""
    timeout = httpx.Timeout(settings.upstream_timeout_seconds, connect=5.0)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    return httpx.AsyncClient(
        timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
    )
