"""The requests the proxy is serving now, per model, sent to the gateway as a small gauge.

Why a gauge event rather than a start and an end event per request: the gateway's
`ollamon_requests_in_flight` needs only the count now, one event per change in a burst
would double the messages of a busy proxy, and a lost end event (a probe killed mid-request)
would leave a count that never comes down. So the probe sends the whole count of its host:
on change, at most one event every `min_gap_seconds` (a burst of requests is one event),
and every `interval_seconds` while any request is in flight; the event after the last one
ends is empty, then nothing while idle. The gateway zeroes a host whose events stop while
it was busy. Model names are capped (`MAX_IN_FLIGHT_MODELS`, the rest `IN_FLIGHT_OTHER`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable

from ollamon_core.events import (
    IN_FLIGHT_OTHER,
    MAX_IN_FLIGHT_MODELS,
    UNKNOWN_MODEL,
    InFlightRequests,
)
from ollamon_core.events.limits import MAX_MODEL_NAME_CHARS
from ollamon_probe.exchange import Exchange
from ollamon_probe.request_event import Origin
from ollamon_probe.request_fields import request_facts

MIN_GAP_SECONDS = 0.25

Publish = Callable[[InFlightRequests], Awaitable[None]]


class InFlightBook:
    """The measured exchanges the proxy serves now; each one's model once its body tells."""

    def __init__(self) -> None:
        self._live: dict[int, Exchange] = {}
        self._names: dict[int, str] = {}
        self.changed = asyncio.Event()

    def start(self, exchange: Exchange) -> None:
        """A request began."""
        self._live[id(exchange)] = exchange
        self.changed.set()

    def end(self, exchange: Exchange) -> None:
        """A request ended (answered, failed or cancelled)."""
        self._live.pop(id(exchange), None)
        self._names.pop(id(exchange), None)
        self.changed.set()

    def real_traffic(self) -> int:
        """Requests in flight that belong to no benchmark run."""
        return sum(1 for exchange in self._live.values() if exchange.benchmark_run_id is None)

    def by_model(self) -> dict[str, int]:
        """Requests in flight per model; past the cap of names, under IN_FLIGHT_OTHER."""
        counts: Counter[str] = Counter(
            self._model_of(key, exchange) for key, exchange in self._live.items()
        )
        if len(counts) <= MAX_IN_FLIGHT_MODELS:
            return dict(counts)
        kept = dict(counts.most_common(MAX_IN_FLIGHT_MODELS))
        kept[IN_FLIGHT_OTHER] = sum(counts.values()) - sum(kept.values())
        return kept

    def _model_of(self, key: int, exchange: Exchange) -> str:
        name = self._names.get(key)
        if name is not None:
            return name
        if exchange.body.size == 0:
            return UNKNOWN_MODEL  # the body has not begun yet
        name = request_facts(exchange.body).model_name[:MAX_MODEL_NAME_CHARS]
        if not name:
            return UNKNOWN_MODEL
        self._names[key] = name
        return name


async def publish_in_flight(
    book: InFlightBook,
    origin: Origin,
    publish: Publish,
    interval_seconds: float,
    min_gap_seconds: float = MIN_GAP_SECONDS,
) -> None:
    """Send the book's counts on change and every interval while busy, until cancelled."""
    busy = False
    while True:
        if busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(book.changed.wait(), interval_seconds)
        else:
            await book.changed.wait()
        book.changed.clear()
        counts = book.by_model()
        if counts or busy:
            await publish(
                InFlightRequests(
                    host=origin.host,
                    ollama_url=origin.shown_url,
                    by_model=counts,
                    interval_seconds=interval_seconds,
                )
            )
        busy = bool(counts)
        await asyncio.sleep(min_gap_seconds)  # changes meanwhile are sent together next
