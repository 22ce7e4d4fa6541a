"""What the proxy saw of one request/response exchange, fed as chunks pass (pure, no I/O).

Every method is a few arithmetic steps so that measuring stays off the hot path; the
event is built from this only after the last byte went to the client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ollamon_probe.delta_count import DeltaCounter
from ollamon_probe.line_tail import LineTail
from ollamon_probe.request_fields import BodySample

MEASURED_ENDPOINTS = frozenset(
    {
        "/api/generate",
        "/api/chat",
        "/api/embed",
        "/api/embeddings",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
    }
)
CANCELLED_STATUS = 499
BAD_GATEWAY_STATUS = 502


def is_measured(method: str, path: str) -> bool:
    """True for the requests that get an event: POSTs to generation and embedding paths."""
    return method == "POST" and path in MEASURED_ENDPOINTS


@dataclass
class Exchange:
    """Timestamps (seconds, `time.perf_counter`) and samples of one proxied request."""

    started_at: float
    endpoint: str
    method: str = "POST"
    body: BodySample = field(default_factory=BodySample)
    reply: LineTail = field(default_factory=LineTail)
    status_code: int = 0
    streamed: bool = False
    sse: bool = False
    first_chunk_at: float | None = None
    last_chunk_at: float | None = None
    finished_at: float | None = None
    chunk_count: int = 0
    response_bytes: int = 0
    gaps_seconds: list[float] = field(default_factory=list)
    deltas: DeltaCounter = field(default_factory=DeltaCounter)
    cancelled: bool = False
    transport_error: str | None = None
    # The benchmark run the request belongs to (header X-Ollamon-Benchmark), None if real.
    benchmark_run_id: str | None = None

    def response_started(self, status_code: int, content_type: str) -> None:
        """Upstream answered with a status and content type."""
        self.status_code = status_code
        self.sse = "event-stream" in content_type
        self.streamed = self.sse or "ndjson" in content_type

    def chunk(self, data: bytes, now: float) -> None:
        """One body chunk arrived from upstream at `now`."""
        if self.last_chunk_at is None:
            self.first_chunk_at = now
        else:
            self.gaps_seconds.append(now - self.last_chunk_at)
        self.last_chunk_at = now
        self.chunk_count += 1
        self.response_bytes += len(data)
        self.reply.feed(data)
        if self.streamed:
            self.deltas.feed(data, now)

    @property
    def openai(self) -> bool:
        """True for the OpenAI-compatible endpoints."""
        return self.endpoint.startswith("/v1/")
