"""Fixtures of the collector's tests: processes that look like Ollama's, a fake NVML, and
the check that a paused collector takes no samples."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ollamon_core.events import Heartbeat, OllamaSystemMetrics
from tests.support.waiting import wait_for

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


async def samples_taken_before_the_pause(
    samples: list[OllamaSystemMetrics], heartbeats: list[Heartbeat], beats: int = 5
) -> int:
    """How many samples a paused collector took, once `beats` heartbeats proved it takes no more.

    Heartbeats are the clock: each comes an interval later and carries the collector's own
    `samples` counter, so a sample taken while paused would show in the next one. Returns
    once every sample taken before the pause has arrived (a resend counts once).
    """
    first = next(index for index, beat in enumerate(heartbeats) if beat.state == "paused")
    await wait_for(
        lambda: len(heartbeats) > first + beats, message=f"{beats} heartbeats while paused"
    )
    while_paused = heartbeats[first:]
    assert {beat.state for beat in while_paused} == {"paused"}
    [taken] = {int(beat.counters.get("samples", 0)) for beat in while_paused}
    await wait_for(
        lambda: len({sample.event_id for sample in samples}) >= taken,
        message=f"the {taken} samples taken before the pause",
    )
    assert len({sample.event_id for sample in samples}) == taken
    return taken
