"""Run ruff and mypy over the whole workspace (what CI runs): `python -m scripts.lint`."""

from __future__ import annotations

import subprocess
import sys

from bootstrap import workspace_members

# Besides the workspace members: the code that is not a member.
NOT_MEMBERS = ["tests", "bench", "scripts", "bootstrap.py"]


def main() -> int:
    paths = [*workspace_members(), *NOT_MEMBERS]
    steps = [
        [sys.executable, "-m", "ruff", "check", *paths],
        [sys.executable, "-m", "ruff", "format", "--check", *paths],
        [sys.executable, "-m", "mypy", *paths],
    ]
    for step in steps:
        print("$", " ".join(step[2:]), flush=True)
        if subprocess.call(step) != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
