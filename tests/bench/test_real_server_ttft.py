"""`python -m bench real_server_ttft --quick`: the proxy's added time to first token against
llama.cpp's server is reported beside the direct figure, from the same run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


def test_a_quick_run_reports_direct_and_proxied_time_to_first_token(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "real_server_ttft", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    payload = json.loads(next(tmp_path.glob("bench-*.json")).read_text())
    assert payload["failures"] == []
    metrics = {result["metric"]: result for result in payload["results"]}
    assert set(metrics) == {
        "streamed time to first token p50 (ms)",
        "streamed time to first token p99 (ms)",
        "non-streamed chat latency p50 (ms)",
        "non-streamed chat latency p99 (ms)",
    }
    for result in metrics.values():
        assert result["ours"] > 0 and result["reference"] > 0
        assert result["notes"]["samples"] == 40
        assert result["notes"]["added_ms"] == pytest.approx(
            result["ours"] - result["reference"], abs=1e-3
        )
