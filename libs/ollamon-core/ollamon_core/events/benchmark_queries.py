"""The stored benchmarks query (`ollamon.query.benchmarks`): runs, ranking, comparisons.

Storage answers it from the `BenchmarkRun` events it kept; the ranking and the comparisons
are computed by `ollamon_core.insights.benchmark_comparison` (pure).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from ollamon_core.events.base import FrozenModel
from ollamon_core.events.benchmarks import BenchmarkCase, BenchmarkRun, Interval
from ollamon_core.events.limits import HostLabel, JsonInteger, ModelName

MAX_BENCHMARK_RUNS = 200


class BenchmarksQuery(FrozenModel):
    """Ask for the stored benchmark runs (newest first), the ranking and the comparisons."""

    host: HostLabel | None = Field(default=None, description="Only runs of this host")
    model: ModelName | None = Field(default=None, description="Only this model's results")
    limit: JsonInteger = Field(
        default=20, ge=1, le=MAX_BENCHMARK_RUNS, description="Most runs listed (newest first)"
    )


class RankingRow(FrozenModel):
    """One (host, model) as its latest run measured it: warm figures of its headline case."""

    rank: int = Field(description="1 is the fastest warm eval on this list")
    host: str
    model: str
    run_id: str
    finished_at: AwareDatetime
    backend: str
    server_version: str | None = None
    gpu_name: str | None = None
    case: BenchmarkCase | None = Field(
        default=None, description="The case the figures come from (streamed first, else chat)"
    )
    eval_tokens_per_second: Interval | None = None
    prompt_tokens_per_second: Interval | None = None
    ttft_ms: Interval | None = None
    latency_ms: Interval | None = None
    cold_load_ms: float | None = None
    digest: str | None = None
    quantization: str | None = None
    parameter_size: str | None = None
    size_bytes: int | None = None
    size_vram_bytes: int | None = None
    fits_in_vram: bool | None = None
    num_ctx: int
    error: str | None = None


class ComparisonMetric(StrEnum):
    """What a comparison compares."""

    EVAL = "eval_tokens_per_second"
    TTFT = "ttft_ms"
    LOAD = "cold_load_ms"


class BenchmarkComparison(FrozenModel):
    """A (host, model)'s latest run against its latest earlier run on another server version.

    `flagged` when the change is at least 10 % and each run's mean lies outside the other
    run's 95 % interval; a figure measured once (the cold load) is its own interval and is
    flagged from a 25 % change on.
    """

    host: str
    model: str
    metric: ComparisonMetric
    previous_run_id: str
    current_run_id: str
    previous_version: str | None = None
    current_version: str | None = None
    previous: Interval
    current: Interval
    change_percent: float = Field(description="(current - previous) / previous, in percent")
    worse: bool = Field(description="Slower: less eval tokens/s, or more TTFT or load time")
    flagged: bool
    message: str = Field(description='e.g. "0.12.3 -> 0.12.6: llama3.2:1b eval -18 % on gpu-a"')


class BenchmarksReply(FrozenModel):
    """Answer of `ollamon.query.benchmarks`."""

    runs: list[BenchmarkRun] = Field(default_factory=list)
    ranking: list[RankingRow] = Field(default_factory=list)
    comparisons: list[BenchmarkComparison] = Field(default_factory=list)
