"""`python -m bench <scenario> --quick` in a child process, as a user runs it: the results of
the JSON file it writes, by metric."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def quick_results(scenario: str, out: Path, timeout_seconds: float = 100) -> dict[str, Any]:
    """Run one scenario quickly; fail with its output unless it exits 0 with no failure."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", scenario, "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    payload = json.loads(next(out.glob("bench-*.json")).read_text())
    assert payload["failures"] == []
    return {result["metric"]: result for result in payload["results"]}
