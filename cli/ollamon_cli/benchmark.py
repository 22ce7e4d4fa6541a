"""`ollamon benchmark`: ask the probe for a benchmark run over NATS, follow it, rank.

It connects as the command line's NATS user (`cli`), follows `ollamon.benchmarks.progress`
and `ollamon.benchmarks.runs` first, then asks the probe (`ollamon.control.benchmark`, or
with `--host` that host's probe alone on `ollamon.control.benchmark.<host>`);
progress goes to stderr (a bar on a terminal, plain lines elsewhere), the ranking table (or
`--json`) to stdout. Then it asks storage (`ollamon.query.benchmarks`) how the run compares
with the latest one on another server version; without storage the table stands alone.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TextIO

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from pydantic import ValidationError
from rich.console import Console

from ollamon_cli.benchmark_view import ProgressView, ranking_table, show_comparisons
from ollamon_cli.exits import CommandError
from ollamon_cli.nats_target import NatsTarget, connect
from ollamon_cli.terminal import console_for
from ollamon_core import subjects
from ollamon_core.bus.requests import QueryFailedError, ServiceUnavailableError, request
from ollamon_core.events import (
    BenchmarkAccepted,
    BenchmarkProgress,
    BenchmarkRequest,
    BenchmarkRun,
    BenchmarkState,
)
from ollamon_core.events.benchmark_queries import BenchmarkComparison, BenchmarksQuery
from ollamon_core.insights.benchmark_comparison import ranking

ACCEPT_TIMEOUT_SECONDS = 30.0  # the probe reads the server's models before it answers
# A run says something after every request; this long without a word, it is given up.
SILENCE_TIMEOUT_SECONDS = 900.0
STORED_WAIT_SECONDS = 5.0
STORAGE_TIMEOUT_SECONDS = 3.0


async def run_benchmark(
    target: NatsTarget,
    benchmark: BenchmarkRequest,
    out: TextIO,
    *,
    as_json: bool = False,
    notes: TextIO | None = None,
    silence_seconds: float = SILENCE_TIMEOUT_SECONDS,
) -> BenchmarkRun:
    """Run a benchmark on the probe, show its progress on `notes` (stderr) and its ranking
    (or JSON) on `out`; the finished run.

    Raises:
        CommandError: NATS, the probe or the run failed, or the probe refused (busy, no
            such model).
    """
    said = console_for(notes or sys.stderr)
    nc = await connect(target)
    arrived: asyncio.Queue[Msg] = asyncio.Queue()
    try:

        async def keep(msg: Msg) -> None:
            arrived.put_nowait(msg)

        await nc.subscribe(subjects.BENCHMARK_PROGRESS, cb=keep)
        await nc.subscribe(subjects.BENCHMARK_RUNS, cb=keep)
        await nc.flush()
        accepted = await _start(nc, benchmark, target)
        said.print(
            f"benchmark {accepted.run_id[:12]}: {', '.join(accepted.models)} "
            f"({accepted.total_steps} steps)",
            style="dim",
        )
        with ProgressView(said) as view:
            run = await _follow(arrived, accepted, view, silence_seconds)
        comparisons = await _comparisons(nc, run, said)
    finally:
        await nc.drain()
    _show(run, comparisons, out, as_json=as_json)
    return run


async def _start(
    nc: NatsClient, benchmark: BenchmarkRequest, target: NatsTarget
) -> BenchmarkAccepted:
    route = subjects.benchmark_route(benchmark.host)
    try:
        return await request(nc, route, benchmark, timeout=ACCEPT_TIMEOUT_SECONDS)
    except ServiceUnavailableError as error:
        if benchmark.host is not None:
            raise CommandError(
                f"no probe of host {benchmark.host!r} answered on {error.subject} "
                f"({error.reason}) at {target.public_url}: is the host label right, and its "
                "probe running and linked?"
            ) from None
        raise CommandError(
            f"the probe did not answer on {error.subject} ({error.reason}) at "
            f"{target.public_url}: is the stack (`ollamon up`) running there?"
        ) from None
    except QueryFailedError as error:
        hint = " (--force runs anyway)" if error.error.status_code == 409 else ""
        raise CommandError(f"the probe refused the benchmark: {error.error.error}{hint}") from None


async def _follow(
    arrived: asyncio.Queue[Msg],
    accepted: BenchmarkAccepted,
    view: ProgressView,
    silence_seconds: float,
) -> BenchmarkRun:
    while True:
        try:
            msg = await asyncio.wait_for(arrived.get(), silence_seconds)
        except TimeoutError:
            raise CommandError(
                f"benchmark {accepted.run_id[:12]}: no word from the probe for "
                f"{silence_seconds:g} s; it may still be running"
            ) from None
        try:
            if msg.subject == subjects.BENCHMARK_RUNS:
                run = BenchmarkRun.model_validate_json(msg.data)
                if run.run_id == accepted.run_id:
                    return run
                continue
            progress = BenchmarkProgress.model_validate_json(msg.data)
        except ValidationError:
            continue
        if progress.run_id != accepted.run_id:
            continue
        view.update(progress)
        if progress.state == BenchmarkState.DONE and progress.message != "done":
            view.note(progress.message)
        if progress.state == BenchmarkState.FAILED:
            raise CommandError(f"benchmark {accepted.run_id[:12]} failed: {progress.message}")


async def _comparisons(
    nc: NatsClient, run: BenchmarkRun, said: Console
) -> list[BenchmarkComparison] | None:
    """The comparisons of this run, once storage has it (None: storage did not answer)."""
    query = BenchmarksQuery(host=run.host, limit=50)
    deadline = time.monotonic() + STORED_WAIT_SECONDS
    while True:
        try:
            reply = await request(
                nc, subjects.QUERY_BENCHMARKS, query, timeout=STORAGE_TIMEOUT_SECONDS
            )
        except (ServiceUnavailableError, QueryFailedError) as error:
            said.print(f"ollamon: no version comparison: storage did not answer ({error})")
            return None
        if any(stored.run_id == run.run_id for stored in reply.runs) or time.monotonic() > deadline:
            return [item for item in reply.comparisons if item.current_run_id == run.run_id]
        await asyncio.sleep(0.2)


def _show(
    run: BenchmarkRun,
    comparisons: list[BenchmarkComparison] | None,
    out: TextIO,
    *,
    as_json: bool,
) -> None:
    if as_json:
        document = {
            "run": run.model_dump(mode="json"),
            "ranking": [row.model_dump(mode="json") for row in ranking([run])],
            "comparisons": [item.model_dump(mode="json") for item in comparisons or []],
        }
        out.write(json.dumps(document, indent=2) + "\n")
        return
    console = console_for(out)
    console.print(ranking_table(run))
    show_comparisons(console, comparisons or [])
