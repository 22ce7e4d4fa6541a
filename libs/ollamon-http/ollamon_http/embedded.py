"""uvicorn inside a service's own event loop, asleep while nothing happens.

uvicorn's `Server.main_loop` wakes every 0.1 s to refresh the `Date` header once a second
and to see whether it should exit: ten wakeups a second in each of the gateway and the
probe, for nothing while the stack idles. `EmbeddedServer` ticks once a second (what
uvicorn refreshes once a second still is) and wakes at once when told to exit, since
`should_exit` sets an event; signals are left to the service runtime (`run_service`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn

TICK_SECONDS = 1.0
# uvicorn counts ticks of 0.1 s and refreshes the Date header when the count is a
# multiple of 10: one of our ticks is ten of its.
UVICORN_TICKS_PER_TICK = 10
UVICORN_TICK_WRAP = 864000


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that wakes once a second or when told to exit, never on signals."""

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit_requested = asyncio.Event()
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        """Whether the server was told to exit (setting it True wakes the main loop)."""
        return self._exit_requested.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if value:
            self._exit_requested.set()
        else:
            self._exit_requested.clear()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + UVICORN_TICKS_PER_TICK) % UVICORN_TICK_WRAP
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_requested.wait(), TICK_SECONDS)
