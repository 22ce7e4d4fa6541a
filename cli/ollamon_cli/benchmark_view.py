"""What `ollamon benchmark` shows: the progress of a run, its ranking table and the version
comparisons (pure formatting on a rich console; nothing here talks to NATS)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ollamon_core.events import BenchmarkProgress, BenchmarkRun, Interval
from ollamon_core.events.benchmark_queries import BenchmarkComparison
from ollamon_core.insights.benchmark_comparison import ranking


def interval_text(interval: Interval | None, digits: int = 1) -> str:
    """`123.4 ± 5.6` (the half width of the 95 % interval), `12.0 (0.0 to 95.3)` when the
    interval is lopsided (its low end stopped at 0), the mean alone for one sample, `-`
    when not measured."""
    if interval is None:
        return "-"
    if interval.samples < 2:
        return f"{interval.mean:.{digits}f}"
    above, below = interval.high - interval.mean, interval.mean - interval.low
    if not math.isclose(above, below, rel_tol=1e-6, abs_tol=1e-9):
        low, high = f"{interval.low:.{digits}f}", f"{interval.high:.{digits}f}"
        return f"{interval.mean:.{digits}f} ({low} to {high})"
    return f"{interval.mean:.{digits}f} ± {above:.{digits}f}"


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _gigabytes(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e9:.1f}"


def _fits(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def run_title(run: BenchmarkRun) -> str:
    """One line naming the run, where it ran and how."""
    server = f"{run.backend} {run.server_version or '(version unknown)'}"
    gpu = run.gpu_name or "no GPU seen"
    return (
        f"benchmark {run.run_id[:12]} on {run.host}: {server}, {gpu}, num_ctx {run.num_ctx}, "
        f"{run.repetitions} warm repetition(s), suite {run.suite_version}"
    )


def ranking_table(run: BenchmarkRun) -> Table:
    """The run's models, fastest warm eval first (the figures of each model's headline
    case: streamed, else short chat; an embedding model's latency is its embeddings'; load
    is the cold load)."""
    errors = {result.model: sum(case.errors for case in result.cases) for result in run.models}
    # A model without a generation case (an embedding model): the latency of its first case.
    first_latency = {
        result.model: result.cases[0].latency_ms for result in run.models if result.cases
    }
    table = Table(title=run_title(run), title_justify="left", show_edge=False)
    for header in (
        "#",
        "model",
        "eval tok/s",
        "prompt tok/s",
        "TTFT ms",
        "latency ms",
        "load ms",
        "VRAM GB",
        "fits VRAM",
        "quant",
        "errors",
    ):
        right = header not in ("model", "quant")
        table.add_column(header, justify="right" if right else "left", no_wrap=True)
    for row in ranking([run]):
        table.add_row(
            str(row.rank),
            row.model if row.error is None else f"{row.model} ({row.error})",
            interval_text(row.eval_tokens_per_second),
            interval_text(row.prompt_tokens_per_second, 0),
            interval_text(row.ttft_ms),
            interval_text(row.latency_ms or first_latency.get(row.model)),
            _number(row.cold_load_ms),
            _gigabytes(row.size_vram_bytes),
            _fits(row.fits_in_vram),
            row.quantization or "-",
            str(errors.get(row.model, 0)),
        )
    return table


def show_comparisons(out: Console, comparisons: list[BenchmarkComparison]) -> None:
    """Each comparison with an earlier server version; the flagged ones first, in bold."""
    if not comparisons:
        return
    out.print("against the latest run on another server version:")
    for comparison in sorted(comparisons, key=lambda item: not item.flagged):
        mark = "FLAGGED " if comparison.flagged else "        "
        out.print(f"  {mark}{comparison.message}", style="bold red" if comparison.flagged else "")


class ProgressView:
    """A progress bar on a terminal, one plain line per step elsewhere (a pipe, a file)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Progress | None = None
        self.task_id: TaskID | None = None
        self.last_step = -1

    def __enter__(self) -> ProgressView:
        if self.console.is_terminal:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

    def note(self, message: str) -> None:
        """Something to keep in view once the bar has gone (a terminal only: a pipe had the
        line already)."""
        if self.bar is not None:
            self.console.print(message, style="yellow")

    def update(self, progress: BenchmarkProgress) -> None:
        """Show one progress event."""
        if self.bar is not None:
            if self.task_id is None:
                self.task_id = self.bar.add_task("benchmark", total=progress.total_steps)
            self.bar.update(
                self.task_id,
                completed=progress.step,
                total=progress.total_steps,
                description=progress.message or "benchmark",
            )
            return
        if progress.step == self.last_step and progress.state == "running":
            return
        self.last_step = progress.step
        self.console.print(f"[{progress.step}/{progress.total_steps}] {progress.message}")
