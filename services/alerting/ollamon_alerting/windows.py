"""A sliding window of recent requests per (host, model), summarised for rules and scores."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from ollamon_core.events import OllamaModelMetrics
from ollamon_core.stats import mean, percentile

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
    """The requests of the last `window_seconds` for one (host, model)."""

    def __init__(self, window_seconds: float) -> None:
        self.window = timedelta(seconds=window_seconds)
        self.samples: deque[RequestSample] = deque()

    def add(self, sample: RequestSample) -> None:
        """Keep a request (samples arrive in time order)."""
        self.samples.append(sample)

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
            self.samples.popleft()

    def stats(self, now: datetime, context_full_percent: float = 90.0) -> WindowStats | None:
        """Summarise the window; None when it holds no request."""
        self.prune(now)
        if not self.samples:
            return None
        samples = list(self.samples)
        ok = [sample for sample in samples if not sample.failed]
        ttfts = [s.time_to_first_token_ms for s in ok if s.time_to_first_token_ms is not None]
        rates = [s.tokens_per_second for s in ok if s.tokens_per_second is not None]
        return WindowStats(
            request_count=len(samples),
            failed_count=len(samples) - len(ok),
            overloaded_count=sum(sample.overloaded for sample in samples),
            cold_start_count=sum(sample.cold_start for sample in samples),
            context_full_count=sum(
                sample.context_utilization_percent is not None
                and sample.context_utilization_percent >= context_full_percent
                for sample in samples
            ),
            response_time_p95_ms=percentile([s.response_time_ms for s in ok], P95),
            time_to_first_token_p95_ms=percentile(ttfts, P95),
            time_to_first_token_count=len(ttfts),
            tokens_per_second_mean=mean(rates),
            tokens_per_second_count=len(rates),
            load_duration_p95_ms=percentile([s.load_duration_ms for s in ok], P95),
        )
