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
import platform
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType


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


async def run_scenarios(names: list[str], quick: bool) -> list[BenchResult]:
    """Run the named scenarios (all when empty) one after another."""
    available = discover()
    unknown = [name for name in names if name not in available]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; known: {sorted(available)}")
    results: list[BenchResult] = []
    for name in names or sorted(available):
        print(f"== {name}", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as work_dir:
            context = BenchContext(work_dir=Path(work_dir), quick=quick)
            results.extend(await available[name].run(context))
    return results


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


def write_results(results: list[BenchResult], folder: Path) -> Path:
    """Write a timestamped JSON file with the machine and every result."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"bench-{stamp}.json"
    payload = {
        "ran_at": stamp,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "results": [dataclasses.asdict(result) | {"ratio": result.ratio} for result in results],
    }
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path
