"""The benchmark harness: scenarios measure ours against a reference in the same run.

A scenario is a module in `bench/scenarios/` with `NAME: str` and
`async def run(ctx: BenchContext) -> list[BenchResult]`. Each result is one figure next
to its reference (direct call, raw limit, another tool) and the ratio between them, since
these machines are noisy and only same-run ratios mean much. Targets are reported, never
asserted: tests assert behaviour, the bench measures speed.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from bench.report import machine_info


@dataclass
class BenchContext:
    """What every scenario gets: a scratch folder and whether to run a short version."""

    work_dir: Path
    quick: bool = False


@dataclass
class BenchResult:
    """One measured figure beside its reference."""

    scenario: str
    metric: str
    ours: float
    unit: str
    reference: float | None = None
    reference_label: str = ""
    target: str = ""
    met: bool | None = None
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """ours / reference, where there is a reference."""
        if self.reference in (None, 0):
            return None
        return self.ours / self.reference


def discover() -> dict[str, ModuleType]:
    """Every scenario module under bench/scenarios, by NAME."""
    from bench import scenarios

    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(scenarios.__path__):
        module = importlib.import_module(f"bench.scenarios.{info.name}")
        if hasattr(module, "run"):
            found[getattr(module, "NAME", info.name)] = module
    return found


@dataclass
class BenchFailure:
    """A scenario that raised instead of returning results (the run goes on without it)."""

    scenario: str
    error: str


@dataclass
class BenchRun:
    """Everything one `python -m bench` produced."""

    results: list[BenchResult] = field(default_factory=list)
    failures: list[BenchFailure] = field(default_factory=list)
    seconds_by_scenario: dict[str, float] = field(default_factory=dict)
    quick: bool = False


async def run_scenarios(names: list[str], quick: bool) -> list[BenchResult]:
    """Run the named scenarios (all when empty) one after another; a failure raises."""
    run = await run_all(names, quick, keep_going=False)
    return run.results


async def run_all(names: list[str], quick: bool, *, keep_going: bool = True) -> BenchRun:
    """Run the named scenarios (all when empty); with `keep_going`, a scenario that raises
    is recorded as a failure and the others still run."""
    available = discover()
    unknown = [name for name in names if name not in available]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; known: {sorted(available)}")
    run = BenchRun(quick=quick)
    for name in names or sorted(available):
        print(f"== {name}", flush=True)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as work_dir:
            context = BenchContext(work_dir=Path(work_dir), quick=quick)
            try:
                run.results.extend(await available[name].run(context))
            except Exception as error:
                if not keep_going:
                    raise
                run.failures.append(BenchFailure(name, repr(error)))
                traceback.print_exc()
        run.seconds_by_scenario[name] = round(time.monotonic() - started, 1)
        print(f"== {name}: {run.seconds_by_scenario[name]:.1f} s", flush=True)
    return run


def render_table(results: list[BenchResult]) -> str:
    """A plain-text table of every result."""
    header = f"{'scenario':<18} {'metric':<34} {'ours':>12} {'reference':>12} {'ratio':>8}  target"
    lines = [header, "-" * len(header)]
    for result in results:
        reference = "" if result.reference is None else f"{result.reference:.4g}"
        ratio = "" if result.ratio is None else f"{result.ratio:.3f}"
        verdict = {True: "met", False: "MISSED", None: ""}[result.met]
        lines.append(
            f"{result.scenario:<18} {result.metric:<34} {result.ours:>12.4g} {reference:>12} "
            f"{ratio:>8}  {result.target} {verdict}".rstrip()
        )
    return "\n".join(lines)


def write_results(results: list[BenchResult], folder: Path, run: BenchRun | None = None) -> Path:
    """Write a timestamped JSON file with the machine and every result (and, given the
    run, its failures and each scenario's duration)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"bench-{stamp}.json"
    payload: dict[str, object] = {
        "ran_at": stamp,
        "machine": machine_info(),
        "results": [dataclasses.asdict(result) | {"ratio": result.ratio} for result in results],
    }
    if run is not None:
        payload["quick"] = run.quick
        payload["failures"] = [dataclasses.asdict(failure) for failure in run.failures]
        payload["seconds_by_scenario"] = run.seconds_by_scenario
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path
