"""Benchmarks: the command that starts a run, its progress, and the stored run.

The probe runs a fixed, versioned prompt suite through its own proxy
(docs/decisions/0023-benchmark-runner.md); `BenchmarkRequest` asks for a run
(`ollamon.control.benchmark`), `BenchmarkProgress` follows it (core NATS, not stored) and
`BenchmarkRun` is the result (stored in the events stream). A refusal is the request helpers'
usual error reply (`QueryError`) with the status codes below: `busy` (real traffic in flight
or seen lately, not forced) is a 409, `no_models` and `bad_request` a 400.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, model_validator

from ollamon_core.events.base import Event, FrozenModel
from ollamon_core.events.limits import HostLabel, JsonInteger
from ollamon_core.redaction import PublicUrl

# The suite's version: bumped whenever a prompt, a case or how a case is measured changes,
# so runs of different suites are never compared.
SUITE_VERSION = "1"

MAX_BENCHMARK_MODELS = 50
MAX_BENCHMARK_MODEL_CHARS = 255
MIN_REPETITIONS = 1
MAX_REPETITIONS = 20
DEFAULT_REPETITIONS = 3
MIN_NUM_CTX = 256
MAX_NUM_CTX = 131_072
DEFAULT_NUM_CTX = 2048
MAX_REQUESTED_BY_CHARS = 64
MAX_RUN_ID_CHARS = 64
MAX_PROGRESS_MESSAGE_CHARS = 500

# Refusal codes (QueryError.error starts with "<code>: ") and their status codes.
REFUSED_BUSY = "busy"
REFUSED_NO_MODELS = "no_models"
REFUSED_BAD_REQUEST = "bad_request"
REFUSAL_STATUS = {REFUSED_BUSY: 409, REFUSED_NO_MODELS: 400, REFUSED_BAD_REQUEST: 400}

# The request header that marks a request as part of a benchmark run (the probe strips it
# before forwarding; the request event carries the run id as `benchmark_run_id`).
BENCHMARK_HEADER = "X-Ollamon-Benchmark"

BenchmarkModelName = Annotated[str, Field(min_length=1, max_length=MAX_BENCHMARK_MODEL_CHARS)]
RunId = Annotated[str, Field(min_length=1, max_length=MAX_RUN_ID_CHARS)]


class BenchmarkCase(StrEnum):
    """One case of the prompt suite."""

    SHORT_CHAT = "short_chat"
    LONG_PROMPT = "long_prompt"
    STREAMED = "streamed"
    EMBEDDINGS = "embeddings"


class BenchmarkRequest(FrozenModel):
    """Run the benchmark suite on the probe (`ollamon benchmark`, `POST .../benchmarks`).

    `models` empty: every model the server lists; `cases` empty: every case. `cold` unloads
    each model first (`keep_alive: 0`) and measures its load; `force` runs even while real
    traffic is in flight or was seen lately. `host` (a probe's host label) asks that host's
    probe alone, on its own subject (`subjects.benchmark_route`); None: any probe.
    """

    models: list[BenchmarkModelName] = Field(default_factory=list, max_length=MAX_BENCHMARK_MODELS)
    cases: list[BenchmarkCase] = Field(default_factory=list, max_length=len(BenchmarkCase))
    repetitions: Annotated[JsonInteger, Field(ge=MIN_REPETITIONS, le=MAX_REPETITIONS)] = (
        DEFAULT_REPETITIONS
    )
    num_ctx: Annotated[JsonInteger, Field(ge=MIN_NUM_CTX, le=MAX_NUM_CTX)] = DEFAULT_NUM_CTX
    force: bool = False
    cold: bool = True
    requested_by: str | None = Field(default=None, max_length=MAX_REQUESTED_BY_CHARS)
    host: HostLabel | None = None


class BenchmarkAccepted(FrozenModel):
    """The probe's answer to a `BenchmarkRequest` it started: progress and the run follow."""

    run_id: RunId
    models: list[str] = Field(default_factory=list)
    total_steps: int = Field(ge=0)


class Interval(FrozenModel):
    """A mean with its 95 % Student t confidence interval (low == high == mean for one
    sample)."""

    mean: float
    low: float
    high: float
    samples: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if not self.low <= self.mean <= self.high:
            raise ValueError("an interval needs low <= mean <= high")
        return self


class BenchmarkCaseResult(FrozenModel):
    """One case of one model: the warm repetitions' intervals (None: not measured; the
    latency counts every repetition, failed ones too)."""

    case: BenchmarkCase
    eval_tokens_per_second: Interval | None = None
    prompt_tokens_per_second: Interval | None = None
    ttft_ms: Interval | None = None
    latency_ms: Interval
    errors: int = Field(default=0, ge=0)


class BenchmarkModelResult(FrozenModel):
    """One model of a run: what it is, where it sits, and its cases.

    `cold_load_ms` is None when not measured (`cold` false, or a backend that cannot unload).
    `error` says why the model was not measured at all (its cases are then empty).
    """

    model: str = Field(min_length=1, max_length=MAX_BENCHMARK_MODEL_CHARS)
    digest: str | None = None
    quantization: str | None = None
    parameter_size: str | None = None
    size_bytes: int | None = Field(default=None, ge=0)
    size_vram_bytes: int | None = Field(default=None, ge=0)
    fits_in_vram: bool | None = None
    cold_load_ms: float | None = Field(default=None, ge=0)
    cases: list[BenchmarkCaseResult] = Field(default_factory=list)
    error: str | None = Field(default=None, max_length=MAX_PROGRESS_MESSAGE_CHARS)


class BenchmarkRun(Event):
    """A finished benchmark run of one host: one result per model.

    `host` is the benchmarked host; `backend` is `ollama` or `openai`.
    """

    kind: str = Field(default="benchmark_run", pattern="^benchmark_run$")
    run_id: RunId
    suite_version: str = SUITE_VERSION
    backend: str = Field(default="ollama", pattern="^(ollama|openai)$")
    ollama_url: PublicUrl = ""
    server_version: str | None = Field(default=None, max_length=64)
    gpu_name: str | None = Field(default=None, max_length=255)
    started_at: AwareDatetime
    finished_at: AwareDatetime
    repetitions: int = Field(ge=MIN_REPETITIONS, le=MAX_REPETITIONS)
    num_ctx: int = Field(ge=MIN_NUM_CTX, le=MAX_NUM_CTX)
    forced: bool = False
    requested_by: str | None = Field(default=None, max_length=MAX_REQUESTED_BY_CHARS)
    models: list[BenchmarkModelResult] = Field(default_factory=list)


class BenchmarkState(StrEnum):
    """Where a run stands."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BenchmarkProgress(Event):
    """One step of a benchmark run: `step` of `total_steps` done.

    `state` `done` or `failed` ends the run.
    """

    kind: str = Field(default="benchmark_progress", pattern="^benchmark_progress$")
    run_id: RunId
    model: str | None = Field(default=None, max_length=MAX_BENCHMARK_MODEL_CHARS)
    case: str | None = Field(default=None, max_length=64)
    step: int = Field(ge=0)
    total_steps: int = Field(ge=0)
    state: BenchmarkState = BenchmarkState.RUNNING
    message: str = Field(default="", max_length=MAX_PROGRESS_MESSAGE_CHARS)
