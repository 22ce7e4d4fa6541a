"""`python -m bench real_server_ttft --quick`: the proxy's added time to first token against
llama.cpp's server is reported beside the direct figure, from the same run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.quick_run import quick_results

pytestmark = pytest.mark.timeout(120)


def test_a_quick_run_reports_direct_and_proxied_time_to_first_token(tmp_path: Path) -> None:
    metrics = quick_results("real_server_ttft", tmp_path)
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
