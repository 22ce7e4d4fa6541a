"""Fixtures of the collector's tests: processes that look like Ollama's, a fake NVML."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SpawnNamed = Callable[[str, list[str]], subprocess.Popen[bytes]]


# Real processes named like Ollama's: /bin/sh under a link called `ollama`, so the
# kernel's process name is `ollama` and the command line carries `serve` or `runner`.


@pytest.fixture
def spawn_named(tmp_path: Path) -> Iterator[SpawnNamed]:
    """Start processes whose name and command line look like Ollama's; killed after."""
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no /bin/sh to stand in for Ollama")
    started: list[subprocess.Popen[bytes]] = []

    def spawn(executable_name: str, arguments: list[str]) -> subprocess.Popen[bytes]:
        link = tmp_path / executable_name
        if not link.exists():
            link.symlink_to(os.path.realpath(shell))
        process = subprocess.Popen([str(link), "-c", "sleep 60; true", *arguments])
        started.append(process)
        return process

    try:
        yield spawn
    finally:
        for process in started:
            process.kill()
            process.wait(timeout=10)
