"""The transparent Ollama proxy: a raw ASGI app that forwards every request unchanged.

Request bodies stream upstream as they arrive and replies stream back chunk by chunk, over
the keep-alive connections of an `UpstreamPool`. For generation and embedding calls an `Exchange`
records timings and keeps bounded samples; the event is built and queued (`emit`, never
awaited) after the client has its last byte. A client that leaves cancels the upstream
request (recorded as 499); an unreachable Ollama gives 502 (504 when it timed out) with the
error body its client expects: Ollama's `{"error": "..."}`, or OpenAI's
`{"error": {"message": ..., "type": ...}}` on `/v1/*`. Events, error bodies and logs name
Ollama by its redacted URL (`ollamon_core.redaction`); only the connection uses the real one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from ollamon_core.events import Event, utc_now
from ollamon_core.redaction import redact_url
from ollamon_probe.benchmark_mark import benchmark_run_id
from ollamon_probe.client_side import (
    ClientGoneError,
    DisconnectWatch,
    request_body,
    sample_rest_of_body,
)
from ollamon_probe.exchange import BAD_GATEWAY_STATUS, Exchange, is_measured
from ollamon_probe.host_samples import HostSamples
from ollamon_probe.hosts import host_labels
from ollamon_probe.http1_pool import UpstreamError, UpstreamPool, UpstreamResponse
from ollamon_probe.in_flight import InFlightBook
from ollamon_probe.request_event import Origin, build_event
from ollamon_probe.residency import Residency, ResidencyBook
from ollamon_probe.settings import ProbeSettings
from ollamon_probe.upstream import forwarded_headers, reply_headers, request_target

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

GATEWAY_TIMEOUT_STATUS = 504
# The `type` Ollama's OpenAI-compatible layer gives errors that are not the client's fault.
OPENAI_ERROR_TYPE = "api_error"


class EventSink(Protocol):
    """Where events go without waiting (the bus's JetStream outbox)."""

    def emit(self, event: Event) -> bool:
        """Queue `event`; False if it could not be queued."""
        ...


class ProxyApp:
    """Forward everything to one Ollama URL, measuring generation and embedding calls."""

    def __init__(
        self,
        upstream_url: str,
        origin: Origin,
        sink: EventSink,
        upstream: UpstreamPool,
        residency: ResidencyBook,
        counters: Counter[str] | None = None,
        host_samples: HostSamples | None = None,
        in_flight: InFlightBook | None = None,
    ) -> None:
        self.upstream_url = upstream_url.rstrip("/")
        self.shown_url = redact_url(self.upstream_url)
        self.origin = origin
        self.sink = sink
        self.upstream = upstream
        self.residency = residency
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self.host_samples = host_samples
        self.in_flight = in_flight if in_flight is not None else InFlightBook()

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
        watch = DisconnectWatch(asyncio.current_task())
        if exchange is not None:
            exchange.benchmark_run_id = benchmark_run_id(scope["headers"])
            self.in_flight.start(exchange)
        try:
            await self._exchange(scope, receive, send, exchange, watch)
        finally:
            watch.stop()
            if exchange is not None:
                self.in_flight.end(exchange)
                exchange.finished_at = exchange.finished_at or time.perf_counter()
                self._record(exchange, before)

    async def _exchange(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        exchange: Exchange | None,
        watch: DisconnectWatch,
    ) -> None:
        headers, has_body = forwarded_headers(scope["headers"])
        body: bytes | AsyncIterator[bytes] | None = None
        try:
            if has_body:
                body = await request_body(receive, exchange, watch)
            else:
                watch.start(receive)
            response = await self.upstream.request(
                scope["method"], request_target(scope), headers, body
            )
        except ClientGoneError:
            self._cancelled(exchange)
            return
        except asyncio.CancelledError:
            if not watch.absorb_cancel():
                raise
            self._cancelled(exchange)
            return
        except UpstreamError as error:
            if watch.left_mid_body:
                self._cancelled(exchange)
                return
            if exchange is not None and not watch.started:
                await sample_rest_of_body(receive, exchange)
            await self._bad_gateway(send, error, exchange, scope["path"])
            return
        await self._reply(response, send, exchange, watch)

    async def _reply(
        self,
        response: UpstreamResponse,
        send: Send,
        exchange: Exchange | None,
        watch: DisconnectWatch,
    ) -> None:
        try:
            await self._relay(response, send, exchange, watch)
        except asyncio.CancelledError:
            response.close()  # drops the connection: Ollama stops generating
            if not watch.absorb_cancel():
                raise
            self._cancelled(exchange)
        except UpstreamError as error:
            response.close()
            if watch.left_mid_body:
                self._cancelled(exchange)
                return
            # Headers are gone already: record, then drop the connection (uvicorn closes it).
            self.counters["upstream_errors"] += 1
            if exchange is not None:
                exchange.transport_error = f"Ollama stream broke: {_describe(error)}"
            raise
        else:
            response.release()

    async def _relay(
        self,
        response: UpstreamResponse,
        send: Send,
        exchange: Exchange | None,
        watch: DisconnectWatch,
    ) -> None:
        if exchange is not None:
            content_type = response.header(b"content-type").decode("latin-1")
            exchange.response_started(response.status, content_type)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": reply_headers(response.headers),
            }
        )
        # The last piece carries the end of the body: one write fewer to the client.
        async for chunk, last in response.pieces():
            if exchange is not None and chunk:
                exchange.chunk(chunk, time.perf_counter())
            watch.finished = last
            await send({"type": "http.response.body", "body": chunk, "more_body": not last})
        if exchange is not None:
            exchange.finished_at = time.perf_counter()

    def _cancelled(self, exchange: Exchange | None) -> None:
        self.counters["cancelled_requests"] += 1
        if exchange is not None:
            exchange.cancelled = True

    async def _bad_gateway(
        self, send: Send, error: UpstreamError, exchange: Exchange | None, path: str
    ) -> None:
        self.counters["upstream_errors"] += 1
        timed_out = isinstance(error, TimeoutError)
        status = GATEWAY_TIMEOUT_STATUS if timed_out else BAD_GATEWAY_STATUS
        reason = "timed out waiting for" if timed_out else "could not reach"
        message = f"ollamon proxy {reason} Ollama at {self.shown_url}: {_describe(error)}"
        body = json.dumps(error_body(path, message)).encode()
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
            gpu = (
                self.host_samples.gpu_utilization_percent(self.origin.host, utc_now())
                if self.host_samples is not None
                else None
            )
            now = self.residency.view(self.origin.ollama_url)
            event = build_event(exchange, self.origin, before, now, gpu)
        except Exception:  # a measuring bug must never break the proxying
            self.counters["event_build_errors"] += 1
            log.exception("could not build the event of %s", exchange.endpoint)
            return
        self.counters["measured_requests"] += 1
        self.sink.emit(event)
        if not event.error_occurred and not event.cancelled and not event.model_unknown:
            self.residency.note_served(self.origin.ollama_url, event.model_name)


def error_body(path: str, message: str) -> dict[str, Any]:
    """An error reply as the client of `path` reads one: OpenAI's shape on `/v1/*`
    (what Ollama's OpenAI-compatible layer sends), Ollama's `{"error": "..."}` elsewhere."""
    if path.startswith("/v1/"):
        return {
            "error": {"message": message, "type": OPENAI_ERROR_TYPE, "param": None, "code": None}
        }
    return {"error": message}


def _describe(error: UpstreamError) -> str:
    """The error's message, with the underlying one (refused, reset, ...) where there is one."""
    cause = error.__cause__
    return f"{error} ({cause!r})" if cause is not None else str(error)


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
    upstream: UpstreamPool,
    residency: ResidencyBook,
    counters: Counter[str] | None = None,
    host_samples: HostSamples | None = None,
) -> ProxyApp:
    """The proxy to the first Ollama URL of `settings`, labelled as the watcher labels it.

    `upstream` comes from `upstream.create_proxy_pool(settings)`; the caller closes it.
    """
    url = settings.ollama_urls[0]
    if upstream.base_url != url.rstrip("/"):
        raise ValueError(
            f"the upstream pool goes to {redact_url(upstream.base_url)}, not to {redact_url(url)}"
        )
    label = host_labels(settings.ollama_urls, settings.host_label)[url]
    return ProxyApp(url, Origin(url, label), sink, upstream, residency, counters, host_samples)
