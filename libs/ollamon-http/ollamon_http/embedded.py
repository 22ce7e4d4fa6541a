"""uvicorn inside a service's own event loop, asleep while nothing happens.

uvicorn's `Server.main_loop` wakes every 0.1 s to refresh the `Date` header once a second
and to see whether it should exit: ten wakeups a second in each of the gateway and the
probe, for nothing while the stack idles. `EmbeddedServer` ticks once a second (what
uvicorn refreshes once a second still is) while a connection is open, and not at all while
none is: a connection opening refreshes a `Date` header older than a second before its first
request is read, and wakes the ticks again. It wakes at once when told to exit, since
`should_exit` sets an event; signals are left to the service runtime (`run_service`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from typing import Any

import uvicorn

TICK_SECONDS = 1.0
# uvicorn counts ticks of 0.1 s and refreshes the Date header when the count is a
# multiple of 10: one of our ticks is ten of its.
UVICORN_TICKS_PER_TICK = 10
UVICORN_TICK_WRAP = 864000


class OpenConnections(set[Any]):
    """uvicorn's set of open connections, calling `opened` after each one is added."""

    def __init__(self, opened: Callable[[], None]) -> None:
        super().__init__()
        self._opened = opened

    def add(self, connection: Any) -> None:
        super().add(connection)
        self._opened()


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that wakes once a second while a connection is open, or when told
    to exit; never on signals, never while no connection is open."""

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit_requested = asyncio.Event()
        self._wake = asyncio.Event()
        self._ticked_at = float("-inf")
        super().__init__(config)
        self.server_state.connections = OpenConnections(self._connection_opened)

    @property
    def should_exit(self) -> bool:
        """Whether the server was told to exit (setting it True wakes the main loop)."""
        return self._exit_requested.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if value:
            self._exit_requested.set()
            self._wake.set()
        else:
            self._exit_requested.clear()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            self._ticked_at = time.monotonic()
            counter = (counter + UVICORN_TICKS_PER_TICK) % UVICORN_TICK_WRAP
            self._wake.clear()
            # no connection, nothing to refresh: sleep until one opens or exit is asked
            timeout = TICK_SECONDS if self.server_state.connections else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _connection_opened(self) -> None:
        """A connection opened: its first response must carry a current `Date`, and the
        ticks resume while it stays open."""
        if time.monotonic() - self._ticked_at >= TICK_SECONDS:
            self._refresh_default_headers()
        self._wake.set()

    def _refresh_default_headers(self) -> None:
        """What uvicorn's `on_tick` does once a second: the `Date` header of now."""
        date = [(b"date", formatdate(time.time(), usegmt=True).encode())]
        headers = date if self.config.date_header else []
        self.server_state.default_headers = headers + self.config.encoded_headers
