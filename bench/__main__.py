"""`python -m bench [scenario ...] [--quick]`: run scenarios, print ratios, save JSON.

Every scenario runs even when one fails (its error is printed, kept in the JSON file and
makes the exit status 1), so one command always yields a report.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench.harness import discover, render_table, run_all, write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--quick", action="store_true", help="short runs (CI smoke)")
    parser.add_argument("--list", action="store_true", help="list scenarios and exit")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    if args.list:
        print("\n".join(sorted(discover())))
        return
    run = asyncio.run(run_all(args.scenarios, args.quick))
    print()
    print(render_table(run.results))
    for failure in run.failures:
        print(f"FAILED {failure.scenario}: {failure.error}")
    print(f"\nresults written to {write_results(run.results, args.out, run)}")
    print("Markdown for docs/BENCHMARKS.md: python -m bench.report")
    if run.failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
