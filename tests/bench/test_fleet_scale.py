"""`python -m bench fleet_scale --quick`: the fleet's load reaches storage whole, per-host
queries answer one host, and every figure is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.quick_run import quick_results

pytestmark = pytest.mark.timeout(120)


def test_a_quick_fleet_run_stores_everything_offered_and_reports_each_figure(
    tmp_path: Path,
) -> None:
    metrics = quick_results("fleet_scale", tmp_path)
    assert set(metrics) == {
        "stored events/s, 20 hosts",
        "summary p95 under load (REST)",
        "summary ?host= p95 under load (REST)",
        "system ?host= p95 under load (REST)",
        "gateway RSS peak, 20 hosts (MB)",
    }
    stored = metrics["stored events/s, 20 hosts"]["notes"]
    assert stored["events_offered"] > 0
    assert stored["events_stored"] == stored["events_offered"]
    assert stored["publish_errors"] == 0
    queries = metrics["system ?host= p95 under load (REST)"]["notes"]
    assert queries["host_system_answer_was_one_host"] is True
    assert all(count > 0 for count in queries["queries_under_load"].values())
    assert metrics["gateway RSS peak, 20 hosts (MB)"]["ours"] > 0
