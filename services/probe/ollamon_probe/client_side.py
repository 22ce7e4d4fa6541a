"""The client's side of a proxied exchange: its request body as it arrives, and its leaving.

The body is read from ASGI `receive` and sampled for measuring as it passes. After the last
piece, a `DisconnectWatch` keeps reading `receive` so that a client that leaves before its
reply ended cancels the request's task, which drops the upstream connection. The watching
task starts `WATCH_AFTER_SECONDS` after the body is in: an exchange over sooner (an error, a
cached or quick reply) costs a timer instead of a task, its start and its cancelling
(docs/BENCHMARKS.md, proxy_overhead); a client that leaves sooner is seen when it starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from ollamon_probe.exchange import Exchange

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

MAX_UNSENT_BODY_BYTES = 16 * 1024 * 1024
# How long after the body is in the watch begins reading `receive` (Ollama generates on for
# at most this long for a client that left at once).
WATCH_AFTER_SECONDS = 0.1


class ClientGoneError(Exception):
    """The client disconnected before its request body was read."""


class DisconnectWatch:
    """Cancels the request's task when its client disconnects before the reply ended.

    `gone`: the watch cancelled the task. `left_mid_body`: the body's reader saw the client
    leave (the upstream body writer turns that into an `UpstreamError` of the request).
    """

    __slots__ = ("finished", "gone", "left_mid_body", "started", "task", "timer", "watcher")

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self.task = task
        self.gone = False
        self.left_mid_body = False
        self.finished = False
        self.started = False  # the body is read: `receive` is the watch's from now on
        self.timer: asyncio.TimerHandle | None = None
        self.watcher: asyncio.Task[None] | None = None

    def start(self, receive: Receive, after_seconds: float = WATCH_AFTER_SECONDS) -> None:
        """Watch `receive` for the client's disconnect (once the body is read), beginning
        `after_seconds` from now unless the exchange is over by then."""
        if self.started:
            return
        self.started = True
        if after_seconds <= 0:
            self._begin(receive)
        else:
            loop = asyncio.get_running_loop()
            self.timer = loop.call_later(after_seconds, self._begin, receive)

    def _begin(self, receive: Receive) -> None:
        self.timer = None
        if not self.finished and self.watcher is None:
            self.watcher = asyncio.create_task(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not self.finished and self.task is not None:
            self.gone = True
            self.task.cancel()

    def stop(self) -> None:
        """The exchange is over: a disconnect from now on cancels nothing."""
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.watcher is not None:
            self.watcher.cancel()

    def absorb_cancel(self) -> bool:
        """True when a cancellation came from the client leaving; then it is absorbed."""
        if not self.gone:
            return False
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return True


async def request_body(
    receive: Receive, exchange: Exchange | None, watch: DisconnectWatch
) -> bytes | AsyncIterator[bytes]:
    """The client's body: bytes when it all came in one piece (most API calls), else a stream.

    Bytes go upstream in one write with the headers, the cheaper path; the message on the
    wire is the same either way. Raises `ClientGoneError` if the client left first.
    """
    first, more = await _next_piece(receive, exchange, watch)
    if not more:
        watch.start(receive)
        return first
    return _streamed_body(receive, exchange, watch, first)


async def _streamed_body(
    receive: Receive, exchange: Exchange | None, watch: DisconnectWatch, first: bytes
) -> AsyncIterator[bytes]:
    """The body piece by piece as it arrives, from `first` on; then watch for a disconnect."""
    chunk, more = first, True
    while True:
        if chunk:
            yield chunk
        if not more:
            break
        chunk, more = await _next_piece(receive, exchange, watch)
    watch.start(receive)


async def _next_piece(
    receive: Receive, exchange: Exchange | None, watch: DisconnectWatch
) -> tuple[bytes, bool]:
    """The next piece of the body and whether more follows, sampled for measuring."""
    message = await receive()
    if message["type"] == "http.disconnect":
        watch.left_mid_body = True
        raise ClientGoneError
    chunk: bytes = message.get("body", b"")
    if chunk and exchange is not None:
        exchange.body.feed(chunk)
    return chunk, bool(message.get("more_body", False))


async def sample_rest_of_body(receive: Receive, exchange: Exchange) -> None:
    """Read what Ollama never got, so a failed request's event still names its model."""
    while exchange.body.size < MAX_UNSENT_BODY_BYTES:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        exchange.body.feed(message.get("body", b""))
        if not message.get("more_body", False):
            return
