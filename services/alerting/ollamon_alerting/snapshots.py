"""What alerting has learned, as kept in the state bucket: request windows and baselines.

Pure code: a window or a model's baselines to bytes and back (a window's bytes may be made in
a worker thread from `kept_samples`, a copy: frozen samples). A window keeps its newest
`MAX_KEPT_SAMPLES` requests, each as one compact row (so a busy model's window stays far
below the server's message size); a model's baselines keep every digest's learned value, the
samples of one still learning, and the digest the host runs now.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from ollamon_alerting.baselines import BaselineBook
from ollamon_alerting.windows import RequestSample, RequestWindow

# Newest requests of one window kept across a restart (about 80 bytes each).
MAX_KEPT_SAMPLES = 4000

# One request: at (ms since the epoch), response ms, failed, overloaded, TTFT ms, tokens/s,
# load ms, cold start, context %, cancelled, num_ctx, load was queue wait (None: unknown).
SampleRow = tuple[
    int,
    float,
    bool,
    bool,
    float | None,
    float | None,
    float,
    bool,
    float | None,
    bool,
    int | None,
    bool | None,
]


class WindowSnapshot(BaseModel):
    """The newest requests of one (host, model) window."""

    host: str
    model_name: str
    samples: list[SampleRow] = Field(default_factory=list)


class BaselineSnapshot(BaseModel):
    """One (host, model)'s baselines by digest ("" where unknown) and its current digest."""

    host: str
    model_name: str
    digest: str = ""
    baselines: dict[str, float] = Field(default_factory=dict)
    learning: dict[str, list[float]] = Field(default_factory=dict)


def state_key(prefix: str, host: str, model_name: str) -> str:
    """A bucket key for a (host, model): names may hold characters keys cannot."""
    digest = hashlib.sha256(f"{host}\x1f{model_name}".encode()).hexdigest()[:32]
    return prefix + digest


def _row(sample: RequestSample) -> SampleRow:
    return (
        round(sample.at.timestamp() * 1000),
        sample.response_time_ms,
        sample.failed,
        sample.overloaded,
        sample.time_to_first_token_ms,
        sample.tokens_per_second,
        sample.load_duration_ms,
        sample.cold_start,
        sample.context_utilization_percent,
        sample.cancelled,
        sample.num_ctx,
        sample.queued,
    )


def _sample(row: SampleRow) -> RequestSample:
    at_ms, response, failed, overloaded, ttft, rate, load, cold, context, cancelled, ctx, queued = (
        row
    )
    return RequestSample(
        at=datetime.fromtimestamp(at_ms / 1000, tz=UTC),
        response_time_ms=response,
        failed=failed,
        overloaded=overloaded,
        time_to_first_token_ms=ttft,
        tokens_per_second=rate,
        load_duration_ms=load,
        cold_start=cold,
        context_utilization_percent=context,
        cancelled=cancelled,
        num_ctx=ctx,
        queued=queued,
    )


def kept_samples(window: RequestWindow) -> list[RequestSample]:
    """The newest requests of a window, the ones kept (a copy: encode it anywhere)."""
    return list(window.samples)[-MAX_KEPT_SAMPLES:]


def window_bytes(host: str, model_name: str, samples: Sequence[RequestSample]) -> bytes:
    """A window's kept requests as bytes (`kept_samples`)."""
    rows = [_row(sample) for sample in samples]
    return json.dumps(
        {"host": host, "model_name": model_name, "samples": rows}, separators=(",", ":")
    ).encode()


def window_from_bytes(
    raw: bytes, window_seconds: float, now: datetime
) -> tuple[str, str, RequestWindow]:
    """A kept window, without the requests that have left it since.

    Raises:
        ValidationError: the bytes are not a window.
    """
    snapshot = WindowSnapshot.model_validate_json(raw)
    window = RequestWindow(window_seconds)
    for row in sorted(snapshot.samples, key=lambda row: row[0]):
        window.add(_sample(row))
    window.prune(now)
    return snapshot.host, snapshot.model_name, window


def baseline_bytes(book: BaselineBook, host: str, model_name: str) -> bytes:
    """A (host, model)'s baselines as kept."""
    snapshot = BaselineSnapshot(
        host=host,
        model_name=model_name,
        digest=book.digest(host, model_name),
        baselines={
            digest: value
            for (h, m, digest), value in book.baselines.items()
            if (h, m) == (host, model_name)
        },
        learning={
            digest: list(values)
            for (h, m, digest), values in book.learning.items()
            if (h, m) == (host, model_name)
        },
    )
    return snapshot.model_dump_json().encode()


def restore_baselines(book: BaselineBook, raw: bytes) -> None:
    """Take up a (host, model)'s kept baselines.

    Raises:
        ValidationError: the bytes are not baselines.
    """
    snapshot = BaselineSnapshot.model_validate_json(raw)
    host, model_name = snapshot.host, snapshot.model_name
    book.set_digest(host, model_name, snapshot.digest)
    for digest, value in snapshot.baselines.items():
        if value > 0:
            book.baselines[(host, model_name, digest)] = value
    for digest, values in snapshot.learning.items():
        if (host, model_name, digest) not in book.baselines:
            book.learning[(host, model_name, digest)] = values[: book.min_samples]
