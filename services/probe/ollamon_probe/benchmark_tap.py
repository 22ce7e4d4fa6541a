"""Between the proxy and the bus: the benchmark's view of the proxy's request events.

`BenchmarkTap.attach(app)` puts the tap in front of the proxy's event sink. Every event
still goes on as before; the tap also notes when the proxy last served real traffic (a
request event without `benchmark_run_id`) and hands the events of the run being measured
to the runner, so a run's figures are exactly what the proxy measured of its requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ollamon_core.events import Event, OllamaModelMetrics, RequestSource
from ollamon_probe.proxy import EventSink, ProxyApp


class BenchmarkTap:
    """Forwards every event to `inner`; keeps the request events of one run aside too."""

    def __init__(
        self, inner: EventSink, app: ProxyApp, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.inner = inner
        self.app = app
        self.clock = clock
        self.last_real_at: float | None = None
        self._run_id: str | None = None
        self._events: asyncio.Queue[OllamaModelMetrics] = asyncio.Queue()

    @classmethod
    def attach(cls, app: ProxyApp) -> BenchmarkTap:
        """Put a tap between `app` and its sink; the tap from then on."""
        tap = cls(app.sink, app)
        app.sink = tap
        return tap

    def emit(self, event: Event) -> bool:
        """Forward `event`; note real traffic; keep the running benchmark's events."""
        if isinstance(event, OllamaModelMetrics) and event.source is RequestSource.PROXY:
            if event.benchmark_run_id is None:
                self.last_real_at = self.clock()
            elif event.benchmark_run_id == self._run_id:
                self._events.put_nowait(event)
        return self.inner.emit(event)

    def real_traffic(self, quiet_seconds: float) -> str | None:
        """Why a run would meet real traffic now (None: it would not): requests in flight,
        or one finished less than `quiet_seconds` ago."""
        in_flight = self.app.in_flight.real_traffic()
        if in_flight:
            return f"{in_flight} request(s) in flight through the proxy"
        if self.last_real_at is not None:
            ago = self.clock() - self.last_real_at
            if ago < quiet_seconds:
                return (
                    f"a request went through the proxy {ago:.0f} s ago "
                    f"(a run waits for {quiet_seconds:g} s of quiet)"
                )
        return None

    def follow(self, run_id: str | None) -> None:
        """Keep the events of `run_id` from now on (None: of no run); drops older ones."""
        self._run_id = run_id
        self.drain()

    def drain(self) -> None:
        """Forget the events kept so far (a late one of an earlier request)."""
        while not self._events.empty():
            self._events.get_nowait()

    async def next_event(self, timeout: float) -> OllamaModelMetrics | None:
        """The next request event of the followed run, None when none came in `timeout`."""
        try:
            return await asyncio.wait_for(self._events.get(), timeout)
        except TimeoutError:
            return None
