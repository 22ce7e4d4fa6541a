"""`python -m bench` end to end on one cheap scenario, and the Markdown report of a run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import machine_info, render_markdown

pytestmark = pytest.mark.timeout(120)


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


def test_a_quick_run_of_one_scenario_prints_the_ratio_table_and_writes_a_json_file(
    tmp_path: Path,
) -> None:
    done = run_bench("alert_latency", "--quick", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "scenario" in done.stdout and "ratio" in done.stdout
    assert "alert latency p99 (ms)" in done.stdout
    files = list(tmp_path.glob("bench-*.json"))
    assert len(files) == 1
    payload = json.loads(files[0].read_text())
    assert payload["quick"] is True
    assert payload["failures"] == []
    assert payload["machine"]["cpu_count"] >= 1
    assert set(payload["seconds_by_scenario"]) == {"alert_latency"}
    metrics = {result["metric"]: result for result in payload["results"]}
    p99 = metrics["alert latency p99 (ms)"]
    assert p99["ours"] > 0 and p99["reference"] > 0
    assert p99["ratio"] == pytest.approx(p99["ours"] / p99["reference"])

    report = subprocess.run(
        [sys.executable, "-m", "bench.report", str(files[0])],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "| alert_latency | alert latency p99 (ms) |" in report


def test_an_unknown_scenario_is_refused_with_the_known_names(tmp_path: Path) -> None:
    done = run_bench("no_such_scenario", "--out", str(tmp_path))
    assert done.returncode != 0
    assert "alert_latency" in done.stderr
    assert list(tmp_path.glob("*.json")) == []


def test_the_markdown_report_names_the_machine_every_result_and_every_failure() -> None:
    payload = {
        "ran_at": "20260101T000000Z",
        "quick": False,
        "machine": machine_info(),
        "results": [
            {
                "scenario": "storage_ingest",
                "metric": "ingest events/s",
                "ours": 6364.0,
                "reference": 18350.0,
                "reference_label": "raw JetStream",
                "ratio": 6364.0 / 18350.0,
                "target": ">= 75% of reference",
                "met": False,
            }
        ],
        "failures": [{"scenario": "sse_fanout", "error": "RuntimeError('boom')"}],
    }
    report = render_markdown(payload)
    assert f"{machine_info()['cpu_count']} CPUs" in report
    assert "| storage_ingest | ingest events/s | 6,364 | 18,350 (raw JetStream) | 0.347 |" in report
    assert "**missed**" in report
    assert "| sse_fanout | failed: RuntimeError('boom') |" in report
