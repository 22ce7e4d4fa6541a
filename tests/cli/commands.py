"""Running `ollamon` as a user does: a child process with its own environment and pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

OLLAMON = [sys.executable, "-m", "ollamon_cli.main"]
# Variables of the developer's shell that would change what the commands print.
CLEARED_PREFIXES = ("OLLAMON_", "OLLAMA_", "NO_COLOR", "FORCE_COLOR", "COLUMNS")


def command_environment(cwd: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without ollamon's variables, the storage path under `cwd`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED_PREFIXES)}
    env["OLLAMA_PERFORMANCE_STORAGE_PATH"] = str(cwd / "data")
    env.update(extra or {})
    return env


def run_ollamon(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run `ollamon args...` to its end, stdout and stderr captured as text."""
    return subprocess.run(
        [*OLLAMON, *args],
        cwd=cwd,
        env=command_environment(cwd, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
