"""Ollama's server log as a second source of request events, deduplicated in the probe.

The proxy's own events pass through `ProxiedBook` on their way to the bus; every request
line of the log that the proxy would measure (a POST to a generation or embedding path) is
held for `grace_seconds` and matched against them. One that matches a proxied request is
that request (counted once: the proxy's event, which knows more); one that matches none
bypassed the proxy and becomes an event with `source="log"`.

A match (decision 0018): same path and status; the log's end time (gin writes the server's
local time to the second, truncated) at most `TIME_BEFORE_S` after and `TIME_AFTER_S`
before the proxy's; latencies within `LATENCY_TOLERANCE_MS` plus `LATENCY_TOLERANCE_RATIO`
of the log's. Each proxied request matches one log line at most; the closest latency wins.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ollamon_core.events import (
    UNKNOWN_MODEL,
    Event,
    LifecycleChange,
    ModelLifecycleEvent,
    OllamaModelMetrics,
    RequestSource,
)
from ollamon_probe.exchange import is_measured
from ollamon_probe.ollama_log import LogReader, LogRequest, RunnerChange, RunnerLine
from ollamon_probe.proxy import EventSink
from ollamon_probe.request_event import Origin

log = logging.getLogger(__name__)

TIME_BEFORE_S = 0.5  # the log's second may start this much after the proxy's end (clocks)
TIME_AFTER_S = 2.0  # truncation to the second plus the proxy's own last bytes
LATENCY_TOLERANCE_MS = 50.0
LATENCY_TOLERANCE_RATIO = 0.10
KEEP_PROXIED_S = 60.0
MAX_PROXIED = 10_000
# One failure is told in several lines (cudaMalloc's out of memory, the runner's panic,
# "llama runner terminated", "error loading llama server"): one event for them.
FAILURE_QUIET_SECONDS = 5.0
_LIFECYCLE = {
    RunnerChange.CRASHED: LifecycleChange.CRASHED,
    RunnerChange.OUT_OF_MEMORY: LifecycleChange.OUT_OF_MEMORY,
}


@dataclass(frozen=True)
class Proxied:
    """What the log can be matched on of one proxied request."""

    ended_at: float  # epoch seconds
    path: str
    status_code: int | None  # None: any (a cancelled request)
    latency_ms: float


def _status_as_logged(event: OllamaModelMetrics) -> int | None:
    """The status Ollama logs for the request; None (any) for a cancelled one: the proxy's
    499 (the client went away) is its own, Ollama logs what it had started to answer."""
    return None if event.cancelled else event.status_code


class ProxiedBook:
    """The proxy's recent requests, fed by the events it publishes (an `EventSink` tee)."""

    def __init__(self, sink: EventSink, clock: Callable[[], float] = time.time) -> None:
        self.sink = sink
        self.clock = clock
        self.recent: deque[Proxied] = deque(maxlen=MAX_PROXIED)

    def emit(self, event: Event) -> bool:
        """Note a proxied request event, then pass the event on."""
        if isinstance(event, OllamaModelMetrics) and event.source is RequestSource.PROXY:
            self.recent.append(
                Proxied(
                    event.timestamp.timestamp(),
                    event.endpoint,
                    _status_as_logged(event),
                    event.response_time_ms,
                )
            )
        return self.sink.emit(event)

    def take_match(self, request: LogRequest, ended_at: float) -> Proxied | None:
        """Remove and return the proxied request `request` is, if any."""
        horizon = self.clock() - KEEP_PROXIED_S
        while self.recent and self.recent[0].ended_at < horizon:
            self.recent.popleft()
        tolerance = LATENCY_TOLERANCE_MS + LATENCY_TOLERANCE_RATIO * request.latency_ms
        best: Proxied | None = None
        for proxied in self.recent:
            if (
                proxied.path == request.path
                and proxied.status_code in (None, request.status_code)
                and -TIME_BEFORE_S <= proxied.ended_at - ended_at <= TIME_AFTER_S
                and abs(proxied.latency_ms - request.latency_ms) <= tolerance
                and (
                    best is None
                    or abs(proxied.latency_ms - request.latency_ms)
                    < abs(best.latency_ms - request.latency_ms)
                )
            ):
                best = proxied
        if best is not None:
            self.recent.remove(best)
        return best


def bypass_event(request: LogRequest, origin: Origin, ended_at: datetime) -> OllamaModelMetrics:
    """The event of a request only the log saw: what the log gives, nothing more."""
    failed = request.status_code >= 400
    message = "; ".join(request.errors) if request.errors else f"HTTP {request.status_code}"
    return OllamaModelMetrics(
        timestamp=ended_at,
        host=origin.host,
        ollama_url=origin.shown_url,
        model_name=UNKNOWN_MODEL,
        model_unknown=True,
        response_time_ms=request.latency_ms,
        endpoint=request.path,
        method=request.method,
        status_code=request.status_code,
        error_occurred=failed,
        error_message=message[:1000] if failed else None,
        source=RequestSource.LOG,
        client_address=request.client_address or None,
    )


class LogSource:
    """Turn batches of log lines into bypass events and runner counters."""

    def __init__(
        self,
        book: ProxiedBook,
        origin: Origin,
        counters: Counter[str],
        grace_seconds: float = 3.0,
        clock: Callable[[], float] = time.time,
        utc_offset_minutes: int | None = None,
    ) -> None:
        self.book = book
        # gin writes the server's local time without a zone: the probe's own, or this one.
        self.zone = (
            None if utc_offset_minutes is None else timezone(timedelta(minutes=utc_offset_minutes))
        )
        self.origin = origin
        self.counters = counters
        self.grace_seconds = grace_seconds
        self.clock = clock
        self.reader = LogReader()
        self.last_model: str | None = None  # the blob of the runner started last
        self.last_failure_at = -math.inf
        self.waiting: deque[tuple[float, float, LogRequest]] = deque()  # (due, ended, line)

    def take(self, lines: list[str]) -> None:
        """Read a batch of lines (an empty batch: the log was quiet; finish what waits)."""
        records = [record for line in lines for record in self.reader.feed(line)]
        records += self.reader.end_of_batch() if lines else self.reader.flush()
        for record in records:
            if isinstance(record, RunnerLine):
                self._runner(record)
            elif is_measured(record.method, record.path):
                moment = record.ended_at
                if self.zone is not None:
                    moment = moment.replace(tzinfo=self.zone)
                ended = moment.astimezone().timestamp()
                self.counters["log_requests"] += 1
                self.waiting.append((self.clock() + self.grace_seconds, ended, record))
        self.settle()

    def settle(self, *, everything: bool = False) -> None:
        """Decide the log requests whose grace ran out: the proxy's, or bypassing ones."""
        now = self.clock()
        while self.waiting and (everything or self.waiting[0][0] <= now):
            _, ended, request = self.waiting.popleft()
            if self.book.take_match(request, ended) is not None:
                self.counters["log_requests_proxied"] += 1
                continue
            self.counters["log_requests_bypassing"] += 1
            event = bypass_event(request, self.origin, datetime.fromtimestamp(ended).astimezone())
            self.book.sink.emit(event)

    def _runner(self, record: RunnerLine) -> None:
        """Count every runner line; a crash or an out-of-memory (which `/api/ps` cannot show:
        the model never appears, or vanishes as if unloaded) is a lifecycle event too. Loads
        and unloads are the watcher's (from `/api/ps`, with the model's name and sizes)."""
        self.counters[f"log_runner_{record.change.value}"] += 1
        if record.model is not None:
            self.last_model = record.model
        change = _LIFECYCLE.get(record.change)
        if change is None:
            log.info("Ollama's log: %s", record.detail)
            return
        log.warning("Ollama's log: %s", record.detail)
        now = self.clock()
        if now - self.last_failure_at < FAILURE_QUIET_SECONDS:
            return  # the same failure in other words (out of memory, panic, terminated)
        self.last_failure_at = now
        self.book.sink.emit(
            ModelLifecycleEvent(
                host=self.origin.host,
                ollama_url=self.origin.shown_url,
                model_name=record.model or self.last_model or UNKNOWN_MODEL,
                change=change,
                detail=record.detail[:1000],
            )
        )

    async def run(self, batches: AsyncIterator[list[str]]) -> None:
        """Read `batches` until they end or the task is cancelled."""
        async for lines in batches:
            self.take(lines)
        self.take([])
        self.settle(everything=True)
