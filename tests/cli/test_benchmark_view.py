"""What `ollamon benchmark` prints: intervals as mean ± half width, the ranking table fastest
first, and the progress as plain lines in a pipe."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from ollamon_cli.benchmark_view import ProgressView, interval_text, ranking_table
from ollamon_core.events import (
    BenchmarkCase,
    BenchmarkCaseResult,
    BenchmarkModelResult,
    BenchmarkProgress,
    BenchmarkRun,
    Interval,
)


def _interval(mean: float, half: float = 0.0, samples: int = 3) -> Interval:
    return Interval(mean=mean, low=mean - half, high=mean + half, samples=samples)


def _model(name: str, eval_rate: float | None, errors: int = 0) -> BenchmarkModelResult:
    streamed = BenchmarkCaseResult(
        case=BenchmarkCase.STREAMED,
        eval_tokens_per_second=_interval(eval_rate, 2.5) if eval_rate else None,
        ttft_ms=_interval(40.0, 4.0),
        latency_ms=_interval(900.0, 10.0),
        errors=errors,
    )
    return BenchmarkModelResult(
        model=name,
        size_bytes=2_000_000_000,
        size_vram_bytes=2_000_000_000,
        fits_in_vram=True,
        cold_load_ms=812.0,
        cases=[streamed],
    )


def test_an_interval_reads_as_mean_plus_or_minus_half_its_width() -> None:
    assert interval_text(_interval(41.26, 3.04)) == "41.3 ± 3.0"
    assert interval_text(_interval(41.26, samples=1)) == "41.3"
    assert interval_text(None) == "-"


def test_an_interval_stopped_at_zero_reads_as_its_two_ends() -> None:
    lopsided = Interval(mean=12.0, low=0.0, high=95.25, samples=5)
    assert interval_text(lopsided) == "12.0 (0.0 to 95.2)"


def test_the_table_ranks_the_fastest_first_with_its_figures() -> None:
    now = datetime.now(UTC)
    run = BenchmarkRun(
        host="gpu-a",
        run_id="abcdef0123456789",
        server_version="0.12.6",
        gpu_name="NVIDIA H200",
        started_at=now,
        finished_at=now,
        repetitions=3,
        num_ctx=2048,
        models=[_model("slow:7b", 35.0, errors=1), _model("fast:1b", 90.0)],
    )
    out = io.StringIO()
    Console(file=out, width=200).print(ranking_table(run))
    text = out.getvalue()
    assert "benchmark abcdef012345 on gpu-a: ollama 0.12.6, NVIDIA H200, num_ctx 2048" in text
    rows = [
        [cell.strip() for cell in line.split("\u2502")]
        for line in text.splitlines()
        if line.strip()[:1].isdigit()
    ]
    assert [row[:3] for row in rows] == [
        ["1", "fast:1b", "90.0 ± 2.5"],
        ["2", "slow:7b", "35.0 ± 2.5"],
    ]
    assert rows[1][4:] == ["40.0 ± 4.0", "900.0 ± 10.0", "812", "2.0", "yes", "-", "1"]


def test_in_a_pipe_each_step_is_one_plain_line() -> None:
    out = io.StringIO()
    with ProgressView(Console(file=out, width=100)) as view:
        for step, message in ((0, "starting"), (1, "cold load 812 ms"), (1, "cold load 812 ms")):
            view.update(BenchmarkProgress(run_id="r", step=step, total_steps=4, message=message))
        view.note("shown by the bar's line already")
    assert out.getvalue().splitlines() == ["[0/4] starting", "[1/4] cold load 812 ms"]
