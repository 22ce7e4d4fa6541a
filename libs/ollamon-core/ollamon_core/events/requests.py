"""One event per measured Ollama request (published by the probe's proxy).

`ollama_url` and the URLs in `error_message` never hold credentials (`PublicUrl`,
`PublicText`: redacted when the event is built or parsed).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ollamon_core.events.base import Event
from ollamon_core.events.limits import MAX_MODEL_NAME_CHARS
from ollamon_core.redaction import PublicText, PublicUrl

# The model name of a request whose body named none the proxy could read (it never
# completed, was not JSON, or had no "model"): shown as such, never as a blank name.
UNKNOWN_MODEL = "(unknown)"


class TokenSource(StrEnum):
    """Where a request's generated-token count came from: the OpenAI `usage` object, the
    server's own statistics in its final chunk (Ollama's `eval_count`, llama.cpp's
    `timings`), or the proxy's count of streamed content deltas (an estimate)."""

    USAGE = "usage"
    FINAL_CHUNK = "final_chunk"
    COUNTED = "counted"


class RequestSource(StrEnum):
    """Who saw a request: the probe's proxy (every field it measures) or only Ollama's own
    server log (a request that bypassed the proxy: method, path, status, latency, client)."""

    PROXY = "proxy"
    LOG = "log"


class OllamaModelMetrics(Event):
    """What one request to Ollama cost, seen from the proxy.

    The first block keeps the field names of the original specification; the rest is
    what only a proxy can see. Durations are milliseconds (Ollama sends nanoseconds).
    Prompts and replies are never part of this event. A request whose body named no
    model the proxy could read has `model_name` `UNKNOWN_MODEL` and `model_unknown` set.
    """

    kind: str = Field(default="request", pattern="^request$")
    model_name: str = Field(max_length=MAX_MODEL_NAME_CHARS)
    response_time_ms: float = Field(ge=0)
    tokens_generated: int = Field(default=0, ge=0)
    tokens_input: int = Field(default=0, ge=0)
    eval_duration_ms: float = Field(default=0.0, ge=0)
    load_duration_ms: float = Field(default=0.0, ge=0)
    prompt_eval_duration_ms: float = Field(default=0.0, ge=0)
    total_duration_ms: float = Field(default=0.0, ge=0)
    memory_usage_mb: float | None = Field(
        default=None,
        ge=0,
        description="The model's memory on the GPU (size_vram of `/api/ps`), in MB (10^6 bytes)",
    )
    gpu_utilization_percent: float | None = Field(
        default=None,
        ge=0,
        description="The host's GPU utilisation in the collector's latest sample of that host",
    )
    model_size_gb: float | None = None
    context_length: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    error_occurred: bool = False
    error_message: PublicText | None = Field(default=None, max_length=4096)

    # Beyond the specification: what the proxy measures.
    model_unknown: bool = Field(
        default=False,
        description=f"The body named no readable model; model_name is {UNKNOWN_MODEL!r}",
    )
    ollama_url: PublicUrl = ""
    endpoint: str = ""
    method: str = "POST"
    status_code: int = 200
    streamed: bool = False
    cancelled: bool = False
    time_to_first_token_ms: float | None = None
    chunk_count: int = 0
    inter_chunk_gap_mean_ms: float | None = None
    inter_chunk_gap_p95_ms: float | None = None
    inter_chunk_gap_max_ms: float | None = None
    token_source: TokenSource | None = Field(
        default=None, description="Where tokens_generated came from; None when no tokens"
    )
    inter_token_gap_mean_ms: float | None = Field(
        default=None,
        ge=0,
        description="Mean time between streamed tokens (chunks holding content deltas, "
        "a chunk of several shared evenly)",
    )
    inter_token_gap_p95_ms: float | None = Field(default=None, ge=0)
    inter_token_gap_max_ms: float | None = Field(default=None, ge=0)
    tokens_per_second: float | None = None
    prompt_tokens_per_second: float | None = None
    done_reason: str | None = None
    num_ctx: int | None = None
    context_utilization_percent: float | None = None
    cold_start: bool | None = None
    queue_wait_ms: float | None = Field(
        default=None,
        ge=0,
        description="load_duration of a request whose model was resident already: queue wait",
    )
    cold_load_ms: float | None = Field(
        default=None, ge=0, description="load_duration of a cold start: loading the model"
    )
    request_bytes: int = 0
    response_bytes: int = 0
    source: RequestSource = Field(
        default=RequestSource.PROXY,
        description="proxy: measured by the probe's proxy; log: seen only in Ollama's server "
        "log (it bypassed the proxy; no model, tokens or TTFT: the log does not give them)",
    )
    client_address: str | None = Field(
        default=None,
        max_length=64,
        description="The client's address as Ollama's log gives it (source log only)",
    )
    benchmark_run_id: str | None = Field(
        default=None,
        max_length=64,
        description="The benchmark run this request belongs to (header X-Ollamon-Benchmark); "
        "None for real traffic",
    )
