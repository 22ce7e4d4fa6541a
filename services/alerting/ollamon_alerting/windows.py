"""A sliding window of recent requests per (host, model), summarised for rules and scores."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from ollamon_alerting.sorted_values import SortedValues
from ollamon_core.events import OllamaModelMetrics

# Ollama reports a few milliseconds of load_duration for a model already in memory; more
# than this means the model was loaded (or the request waited in the queue).
COLD_LOAD_MS = 500.0
OVERLOADED_STATUS = 503
P95 = 0.95


@dataclass(frozen=True)
class RequestSample:
    """What the window keeps of one request."""

    at: datetime
    response_time_ms: float
    failed: bool
    overloaded: bool
    time_to_first_token_ms: float | None
    tokens_per_second: float | None
    load_duration_ms: float
    cold_start: bool
    context_utilization_percent: float | None
    cancelled: bool = False
    num_ctx: int | None = None
    queued: bool | None = None  # load_duration was queue wait (model resident), or a cold load

    @property
    def measured(self) -> bool:
        """True for a request the per-request rules judge: it succeeded and was not cancelled."""
        return not self.failed and not self.cancelled

    @classmethod
    def from_event(cls, event: OllamaModelMetrics, at: datetime) -> RequestSample:
        """Keep what the rules need; a request the client cancelled is not a failure."""
        failed = (event.error_occurred or event.status_code >= 400) and not event.cancelled
        cold = event.cold_start
        if cold is None:
            cold = event.load_duration_ms > COLD_LOAD_MS
        return cls(
            at=at,
            response_time_ms=event.response_time_ms,
            failed=failed,
            overloaded=event.status_code == OVERLOADED_STATUS,
            time_to_first_token_ms=event.time_to_first_token_ms,
            tokens_per_second=None if failed else event.tokens_per_second,
            load_duration_ms=event.load_duration_ms,
            cold_start=cold,
            context_utilization_percent=context_utilization_percent(event),
            cancelled=event.cancelled,
            num_ctx=event.num_ctx,
            queued=_queued(event),
        )


def _queued(event: OllamaModelMetrics) -> bool | None:
    """True when the probe split load_duration as queue wait, False as a cold load."""
    if event.queue_wait_ms is not None:
        return True
    if event.cold_load_ms is not None:
        return False
    return None


def context_utilization_percent(event: OllamaModelMetrics) -> float | None:
    """Percent of the context window a request used, as reported or from num_ctx."""
    if event.context_utilization_percent is not None:
        return event.context_utilization_percent
    if event.num_ctx:
        return 100.0 * (event.tokens_input + event.tokens_generated) / event.num_ctx
    return None


@dataclass(frozen=True)
class WindowStats:
    """A summary of the requests in a window."""

    request_count: int
    failed_count: int
    overloaded_count: int
    cold_start_count: int
    context_full_count: int
    response_time_p95_ms: float | None
    time_to_first_token_p95_ms: float | None
    time_to_first_token_count: int
    tokens_per_second_mean: float | None
    tokens_per_second_count: int
    load_duration_p95_ms: float | None

    @property
    def error_rate_percent(self) -> float:
        """Percent of requests that failed."""
        return 100.0 * self.failed_count / self.request_count if self.request_count else 0.0

    @property
    def success_rate_percent(self) -> float:
        """Percent of requests that succeeded."""
        return 100.0 - self.error_rate_percent


class RequestWindow:
    """The requests of the last `window_seconds` for one (host, model).

    The summary is kept up to date as requests enter (`add`) and leave (`prune`): counts,
    and each measured value in a `SortedValues`, so that `stats` costs the same for a window
    of ten requests as for one of thousands (at 10 requests/s a 300 s window holds 3,000,
    and sorting them again for every request cost 2 ms each). Add samples through `add`
    only: `samples` is read by the snapshots, never written from outside.
    """

    def __init__(self, window_seconds: float) -> None:
        self.window = timedelta(seconds=window_seconds)
        self.samples: deque[RequestSample] = deque()
        self._failed = 0
        self._overloaded = 0
        self._cold_starts = 0
        self._context = SortedValues()  # every request's context use, failed ones too
        self._response_times = SortedValues()  # the rest: requests that did not fail
        self._ttfts = SortedValues()
        self._rates = SortedValues()
        self._loads = SortedValues()
        self._cached: tuple[float, WindowStats | None] | None = None

    def add(self, sample: RequestSample) -> None:
        """Keep a request (samples arrive in time order)."""
        self.samples.append(sample)
        self._count(sample, 1)

    def last_measured(self, now: datetime, count: int) -> list[RequestSample]:
        """The newest `count` requests of the window the per-request rules judge, oldest
        first."""
        self.prune(now)
        found: list[RequestSample] = []
        for sample in reversed(self.samples):
            if len(found) >= count:
                break
            if sample.measured:
                found.append(sample)
        found.reverse()
        return found

    def prune(self, now: datetime) -> None:
        """Forget requests older than the window."""
        while self.samples and now - self.samples[0].at > self.window:
            self._count(self.samples.popleft(), -1)

    def stats(self, now: datetime, context_full_percent: float = 90.0) -> WindowStats | None:
        """Summarise the window; None when it holds no request."""
        self.prune(now)
        if self._cached is not None and self._cached[0] == context_full_percent:
            return self._cached[1]
        found = self._summary(context_full_percent)
        self._cached = (context_full_percent, found)
        return found

    def _summary(self, context_full_percent: float) -> WindowStats | None:
        if not self.samples:
            return None
        return WindowStats(
            request_count=len(self.samples),
            failed_count=self._failed,
            overloaded_count=self._overloaded,
            cold_start_count=self._cold_starts,
            context_full_count=self._context.count_at_least(context_full_percent),
            response_time_p95_ms=self._response_times.percentile(P95),
            time_to_first_token_p95_ms=self._ttfts.percentile(P95),
            time_to_first_token_count=len(self._ttfts),
            tokens_per_second_mean=self._rates.mean(),
            tokens_per_second_count=len(self._rates),
            load_duration_p95_ms=self._loads.percentile(P95),
        )

    def _count(self, sample: RequestSample, sign: int) -> None:
        """Take a request into the summary (sign 1) or out of it (-1)."""
        self._cached = None
        self._overloaded += sign * sample.overloaded
        self._cold_starts += sign * sample.cold_start
        change = SortedValues.add if sign > 0 else SortedValues.remove
        change(self._context, sample.context_utilization_percent)
        if sample.failed:
            self._failed += sign
            return
        change(self._response_times, sample.response_time_ms)
        change(self._ttfts, sample.time_to_first_token_ms)
        change(self._rates, sample.tokens_per_second)
        change(self._loads, sample.load_duration_ms)
