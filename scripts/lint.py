"""Run ruff and mypy over the whole workspace (what CI runs)."""

from __future__ import annotations

import subprocess
import sys

PATHS = ["libs", "services", "cli", "tests", "bench", "scripts", "deploy", "bootstrap.py"]


def main() -> int:
    steps = [
        [sys.executable, "-m", "ruff", "check", *PATHS],
        [sys.executable, "-m", "ruff", "format", "--check", *PATHS],
        [sys.executable, "-m", "mypy", *PATHS],
    ]
    for step in steps:
        print("$", " ".join(step[2:]), flush=True)
        if subprocess.call(step) != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
