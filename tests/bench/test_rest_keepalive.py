"""`python -m bench rest_keepalive --quick`: the gateway's `/status` and `/summary` (storage
running) and a bare Litestar app are each timed on one kept-alive connection, and every
figure is reported beside the bare app's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.quick_run import quick_results

pytestmark = pytest.mark.timeout(120)


def test_a_quick_run_times_kept_alive_gets_of_the_gateway_beside_a_bare_app(
    tmp_path: Path,
) -> None:
    metrics = quick_results("rest_keepalive", tmp_path)
    assert set(metrics) == {
        "GET /status kept-alive p50 (ms)",
        "GET /status kept-alive p99 (ms)",
        "GET /summary kept-alive p50 (ms), storage",
        "GET /summary kept-alive p99 (ms), storage",
    }
    for result in metrics.values():
        assert result["ours"] > 0 and result["reference"] > 0
        assert result["notes"]["samples"] >= 400
        assert result["reference_label"].startswith("bare Litestar app")
    assert metrics["GET /status kept-alive p50 (ms)"]["target"]
