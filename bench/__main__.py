"""`python -m bench [scenario ...] [--quick]`: run scenarios, print ratios, save JSON."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bench.harness import discover, render_table, run_scenarios, write_results


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
    results = asyncio.run(run_scenarios(args.scenarios, args.quick))
    print()
    print(render_table(results))
    print(f"\nresults written to {write_results(results, args.out)}")


if __name__ == "__main__":
    main()
