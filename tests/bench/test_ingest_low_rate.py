"""`python -m bench.ingest_low_rate`: storage's CPU per event at a low rate, per linger
(docs/BENCHMARKS.md, storage_ingest)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)


ARGUMENTS = ["--rate", "20", "--seconds", "1", "--linger", "0.01", "0.5", "--heartbeat", "0.3"]


def test_a_longer_linger_groups_low_rate_events_into_fewer_commits() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest_low_rate", *ARGUMENTS],
        capture_output=True,
        text=True,
        timeout=55,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["linger  0.01 s", "linger  0.50 s"]
    figures = [
        dict(part.strip().rsplit(" ", 1) for part in line.split(":", 1)[1].split(","))
        for line in lines
    ]
    # CPU comes in 10 ms ticks: a short quiet run may read 0, so only its presence is checked.
    assert all(float(figure["cpu_ms_per_event"]) >= 0 for figure in figures)
    assert float(figures[1]["events_per_commit"]) > float(figures[0]["events_per_commit"])
