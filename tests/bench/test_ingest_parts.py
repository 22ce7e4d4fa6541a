"""`python -m bench.ingest_parts`: storage's ingest CPU per event, part by part, each part
run alone on the same events (docs/BENCHMARKS.md, storage_ingest)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.ingest_parts import ACK_BATCH, BATCH_SIZES, FETCH_BATCH

pytestmark = pytest.mark.timeout(60)


def test_every_part_of_ingest_is_measured_on_the_same_events() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest_parts", "--events", "1000"],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    figures = {
        name.strip(): float(rest.split()[0])
        for name, _, rest in (line.partition("  ") for line in done.stdout.splitlines())
        if rest.endswith("µs CPU per event")
    }
    assert set(figures) == {
        "push delivery, no acks",
        "push delivery with acks",
        f"push delivery, acks in one write per {ACK_BATCH} (storage)",
        f"pull fetch({FETCH_BATCH}) with acks",
        "validation, pydantic",
        "decode, msgspec mirror (storage)",
        "stored JSON (compact)",
        *(f"rows, batches of {size}" for size in BATCH_SIZES),
        *(f"write_batch, batches of {size}" for size in BATCH_SIZES),
        f"rows, batches of {BATCH_SIZES[-1]}, JSON as received",
        f"write_batch, batches of {BATCH_SIZES[-1]}, JSON as received",
    }
    assert all(microseconds > 0 for microseconds in figures.values())
    assert "(1000 events," in done.stdout
