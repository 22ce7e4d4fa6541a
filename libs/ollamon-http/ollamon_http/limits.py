"""Limits on the clients of an HTTP/1.1 server: head size, head and body read timeouts, and
how many connections may be open at once.

uvicorn's httptools protocol has none of them (docs/decisions/0007-http-limits.md): httptools
buffers a request head of any size, a head may take any time to arrive, a body may stall
for ever, and every connection is accepted. `limited_protocol(limits, refusals)` is uvicorn's
protocol with them, for `uvicorn.Config(http=...)`. Per connection:

- over `max_connections` open ones, the one idle for longest (waiting for a head or for its
  next request: a slowloris, a forgotten keep-alive) is closed to let it in; only when every
  one has a request in flight is it answered 503 and closed at once;
- a request head over `max_header_bytes` (request line and headers, as received) is answered
  431 and the connection closed, so at most that much plus one read is ever buffered;
- a head not complete `header_timeout_seconds` after the connection opened, or after its
  first byte on a kept-alive connection, is answered 408 and the connection closed
  (silently if no byte came); between requests uvicorn's keep-alive timeout applies;
- a body that gets less than `MIN_BODY_BYTES_PER_WINDOW` (1 KiB) in
  `body_idle_timeout_seconds` while the server is reading is answered 408 (just closed, once
  the reply started); the app sees `http.disconnect`, so the probe drops the request's
  connection to Ollama. The body's size is not limited here, nor the time a steady one takes.

Malformed requests still get uvicorn's 400. Each refusal is counted and logged by `refusals`,
rate-limited (`RefusalLog`), in place of uvicorn's line per malformed request.
"""

from __future__ import annotations

import asyncio
import http
import socket
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ollamon_http.refusals import Refusal, RefusalLog


@dataclass(frozen=True)
class HttpLimits:
    """What one server allows its clients (each service's settings give the numbers)."""

    max_header_bytes: int
    header_timeout_seconds: float
    body_idle_timeout_seconds: float
    max_connections: int


def _closing_reply(status: http.HTTPStatus) -> bytes:
    body = status.phrase.encode()
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s"
    ) % (status.value, body, len(body), body)


SERVICE_UNAVAILABLE = _closing_reply(http.HTTPStatus.SERVICE_UNAVAILABLE)
HEAD_TOO_LARGE = _closing_reply(http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
REQUEST_TIMEOUT = _closing_reply(http.HTTPStatus.REQUEST_TIMEOUT)

# A body is stalled when less than this arrives in `body_idle_timeout_seconds`: one byte now
# and then (the slow-POST attack) does not keep a connection, and its request to Ollama, open.
MIN_BODY_BYTES_PER_WINDOW = 1024


def _send_at_once(transport: asyncio.Transport) -> None:
    """TCP_NODELAY on the accepted connection, whatever socket it was accepted from.

    asyncio sets it only when the listening socket's protocol says TCP (a socket made as
    `socket.socket(AF_INET)` has protocol 0, and the gateway's was): without it a response
    written in two sends (head, then body) waits for the client's delayed ACK, 40 ms on
    Linux, on every request of a kept-alive connection after the first.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with `limits`; `refusals` counts and logs what it refuses.

    Subclassed by `limited_protocol`, which sets both class attributes. The hot path adds a
    few attribute checks per read; timers are armed only while a head or a body is awaited.
    """

    limits: ClassVar[HttpLimits]
    refusals: ClassVar[RefusalLog]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refused = False
        self._in_head = True  # from the connection's start, and from each request's 1st byte
        self._in_body = False
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._window_bytes = 0  # body bytes received in the current idle window
        self._window_paused = False  # the server paused reading during it
        self._idle_since = 0.0  # since when no request is in flight (loop time)

    # asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _send_at_once(transport)
        if len(self.connections) >= self.limits.max_connections and not self._shed_one():
            self._refused = True
            self.transport = transport
            self.refusals.note(
                Refusal.TOO_MANY_CONNECTIONS,
                transport.get_extra_info("peername"),
                f"all {self.limits.max_connections} open connections have a request in "
                "flight (503)",
            )
            transport.write(SERVICE_UNAVAILABLE)
            transport.close()
            return
        super().connection_made(transport)
        self._idle_since = self.loop.time()
        self._head_timer = self.loop.call_later(
            self.limits.header_timeout_seconds, self._head_timed_out
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        if not self._refused:
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._stop_timers()
            self.refusals.note(Refusal.MALFORMED, self.client, f"{error} (400)")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
                return
            self._refuse_upgrade()
            return
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._cut_head(
                    Refusal.HEAD_TOO_LARGE,
                    HEAD_TOO_LARGE,
                    f"over {self.limits.max_header_bytes} bytes (431)",
                )
            elif self._head_timer is None:
                self._head_timer = self.loop.call_later(
                    self.limits.header_timeout_seconds, self._head_timed_out
                )
        elif self._in_body:
            if self._holding_back():
                self._window_paused = True
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(
                    self.limits.body_idle_timeout_seconds, self._body_window_ended
                )

    # httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head, self._in_body = False, True
        self._window_bytes, self._window_paused = 0, False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._window_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = self.loop.time()

    # Refusing --------------------------------------------------------------------------

    def _shed_one(self) -> bool:
        """Make room: close the connection idle for longest (no request in flight: waiting
        for a head, or for the next request). False when every one has a request in flight."""
        idle = [
            connection
            for connection in self.connections
            if isinstance(connection, LimitedHttpToolsProtocol) and connection._is_idle()
        ]
        if not idle:
            return False
        longest = min(idle, key=lambda connection: connection._idle_since)
        longest._cut(
            Refusal.SHED,
            None,
            f"idle for {self.loop.time() - longest._idle_since:.1f} s, closed to let a new "
            f"connection in ({self.limits.max_connections} are open)",
        )
        self.connections.discard(longest)
        return True

    def _holding_back(self) -> bool:
        """The server keeps the client from sending: reading paused, or `Expect:
        100-continue` not answered yet."""
        waiting = self.cycle is not None and self.cycle.waiting_for_100_continue
        return self.flow.read_paused or waiting

    def _is_idle(self) -> bool:
        cycle = self.cycle
        return not self._in_body and (cycle is None or cycle.response_complete)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._in_head:
            return
        started = self._head_bytes > 0 or self.cycle is not None
        self._cut_head(
            Refusal.HEAD_TIMEOUT,
            REQUEST_TIMEOUT if started else None,
            f"no complete request head within {self.limits.header_timeout_seconds:g} s"
            + (" (408)" if started else ", nothing sent"),
        )

    def _body_window_ended(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or not self._in_body or self.cycle is None:
            return
        received, self._window_bytes = self._window_bytes, 0
        # While the server does not read (the app is slow to, or 100-continue is not sent
        # yet) the client cannot send: that window does not count.
        excused = self._window_paused or self._holding_back()
        # The next window starts now: if the server holds the client back at its start
        # (100-continue not sent yet), the client may answer only late in it.
        self._window_paused = self._holding_back()
        if received >= MIN_BODY_BYTES_PER_WINDOW or excused:
            self._body_timer = self.loop.call_later(
                self.limits.body_idle_timeout_seconds, self._body_window_ended
            )
            return
        reply = None if self.cycle.response_started else REQUEST_TIMEOUT
        self._cut(
            Refusal.BODY_TIMEOUT,
            reply,
            f"{received} body bytes in {self.limits.body_idle_timeout_seconds:g} s"
            + (" (408)" if reply else ", connection closed"),
        )

    def _refuse_upgrade(self) -> None:
        """An upgrade nobody serves: the request is answered, then the connection closes
        (httptools reads nothing after it, so the connection could only idle)."""
        self.refusals.note(
            Refusal.UNSUPPORTED_UPGRADE, self.client, "served as plain HTTP, then closed"
        )
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
        else:
            self.cycle.keep_alive = False

    def _cut_head(self, refusal: Refusal, reply: bytes | None, detail: str) -> None:
        # A reply still being sent for an earlier (pipelined) request must not be corrupted.
        idle = self.cycle is None or self.cycle.response_complete
        self._cut(refusal, reply if idle else None, detail)

    def _cut(self, refusal: Refusal, reply: bytes | None, detail: str) -> None:
        self._stop_timers()
        self._in_head = self._in_body = False
        self.refusals.note(refusal, self.client, detail)
        if reply is not None:
            self.transport.write(reply)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's receive() gives http.disconnect now
            cycle.message_event.set()
        self.transport.close()

    def _stop_timers(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None


def limited_protocol(limits: HttpLimits, refusals: RefusalLog) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with `limits`, for `uvicorn.Config(http=...)`."""
    return type(
        "LimitedHttpToolsProtocol",
        (LimitedHttpToolsProtocol,),
        {"limits": limits, "refusals": refusals},
    )
