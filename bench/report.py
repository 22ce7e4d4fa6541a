"""The bench report: the machine a run used, and its results as a Markdown table.

`python -m bench.report [result.json]` prints the Markdown of a saved run (the newest file
in bench/results by default), ready for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")
DEFAULT_RESULTS = Path("bench/results")


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), or what platform knows."""
    if CPUINFO.is_file():
        for line in CPUINFO.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_total_bytes() -> int | None:
    """Physical memory in bytes (from /proc/meminfo on Linux), None where unknown."""
    if MEMINFO.is_file():
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return None


def machine_info() -> dict[str, Any]:
    """What a result depends on: CPUs, memory, OS, Python."""
    cpus_usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": cpus_usable,
        "memory_total_bytes": memory_total_bytes(),
        "python": platform.python_version(),
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def render_markdown(payload: dict[str, Any]) -> str:
    """A saved run as Markdown: the machine, then one row per result."""
    machine = payload.get("machine", {})
    memory = machine.get("memory_total_bytes")
    memory_text = f"{memory / 2**30:.1f} GiB" if memory else "unknown"
    lines = [
        f"Run `{payload.get('ran_at', '?')}`"
        + (" (`--quick`)" if payload.get("quick") else "")
        + f": {machine.get('cpu_count', '?')} CPUs ({machine.get('cpu_model', '?')}), "
        f"{memory_text} memory, Python {machine.get('python', '?')}, "
        f"{machine.get('platform', '?')}; load average at start "
        f"{_number(machine.get('load_average_1m'))}.",
        "",
        "| scenario | metric | ours | reference | ratio | target | verdict |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for result in payload.get("results", []):
        verdict = {True: "met", False: "**missed**", None: ""}[result.get("met")]
        reference = _number(result.get("reference"))
        if reference and result.get("reference_label"):
            reference += f" ({result['reference_label']})"
        ratio = result.get("ratio")
        lines.append(
            f"| {result['scenario']} | {result['metric']} | {_number(result['ours'])} | "
            f"{reference} | {'' if ratio is None else f'{ratio:.3f}'} | "
            f"{result.get('target', '')} | {verdict} |"
        )
    for failure in payload.get("failures", []):
        lines.append(f"| {failure['scenario']} | failed: {failure['error']} | | | | | |")
    return "\n".join(lines)


def newest_result(folder: Path = DEFAULT_RESULTS) -> Path:
    """The most recent result file in `folder`."""
    files = sorted(folder.glob("bench-*.json"))
    if not files:
        raise SystemExit(f"no bench results in {folder}; run `python -m bench` first")
    return files[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("result", nargs="?", type=Path, help="a bench-*.json file")
    args = parser.parse_args()
    path = args.result or newest_result()
    print(render_markdown(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
