"""deploy/prometheus/ollamon-rules.yml evaluated by Prometheus itself: `promtool test rules`
feeds series shaped as `/metrics` serves them and checks which alerts fire, with which
labels and texts. Needs promtool (Debian's `prometheus` package); skipped without it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import observability_files

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")

HOST = 'host="box-1"'
MODEL = f'{HOST}, model="llama3.2:1b"'
FIRED = {"severity": "low", "source": "prometheus", "host": "box-1"}


def requests_over(histogram: str, buckets: dict[str, int], total: int) -> list[dict[str, str]]:
    """A model's requests in the first 15 s: `total` of them, `buckets[le]` at or under le."""
    series = [{"series": f"{histogram}_count{{{MODEL}}}", "values": f"0 {total}x40"}]
    series += [
        {"series": f'{histogram}_bucket{{{MODEL}, le="{le}"}}', "values": f"0 {count}x40"}
        for le, count in buckets.items()
    ]
    return series


def case(series: list[dict[str, str]], alertname: str, fired: list[dict[str, Any]]) -> Any:
    return {
        "interval": "15s",
        "input_series": series,
        "alert_rule_test": [
            {"eval_time": "15s", "alertname": alertname, "exp_alerts": []},  # pending
            {"eval_time": "2m", "alertname": alertname, "exp_alerts": fired},
        ],
    }


def slow(summary_model: str, description: str) -> dict[str, Any]:
    return {
        "exp_labels": {**FIRED, "model": "llama3.2:1b"},
        "exp_annotations": {
            "summary": f"Slow response: {summary_model}",
            "description": description,
            "threshold_setting": "OLLAMON_ALERT_RESPONSE_TIME_MS=30000",
        },
    }


HISTOGRAM = "ollamon_request_duration_seconds"
SLOW_TEXT = "of the requests in 5m over 30 s (ollamon: 3 of the last 10, or one over 60 s)"
CASES = [
    case(
        [{"series": f"ollamon_host_memory_usage_ratio{{{HOST}}}", "values": "0.96x20"}],
        "high_memory",
        [
            {
                "exp_labels": FIRED,
                "exp_annotations": {
                    "summary": "High memory: box-1",
                    "description": "96.0 % (threshold 95)",
                    "threshold_setting": "OLLAMON_ALERT_MEMORY_USAGE_PERCENT=95",
                },
            }
        ],
    ),
    case(
        [{"series": f"ollamon_host_memory_usage_ratio{{{HOST}}}", "values": "0.94x20"}],
        "high_memory",
        [],
    ),
    # 4 of 10 requests over 30 s: past 3 of 10
    case(
        requests_over(HISTOGRAM, {"30.0": 6, "60.0": 10}, 10),
        "slow_response",
        [slow("llama3.2:1b on box-1", f"40% {SLOW_TEXT}")],
    ),
    # 2 of 10 over 30 s, none over 60 s: no alert
    case(requests_over(HISTOGRAM, {"30.0": 8, "60.0": 10}, 10), "slow_response", []),
    # 1 of 10 over 60 s: one severe breach is enough
    case(
        requests_over(HISTOGRAM, {"30.0": 9, "60.0": 9}, 10),
        "slow_response",
        [slow("llama3.2:1b on box-1", f"10% {SLOW_TEXT}")],
    ),
    case(
        [
            {
                "series": f'ollamon_ollama_up{{{HOST}, url="http://127.0.0.1:11434"}}',
                "values": "0x20",
            }
        ],
        "ollama_unreachable",
        [
            {
                "exp_labels": {
                    **FIRED,
                    "severity": "critical",
                    "url": "http://127.0.0.1:11434",
                },
                "exp_annotations": {
                    "summary": "Ollama unreachable: box-1",
                    "description": "Ollama at http://127.0.0.1:11434 did not answer its last poll",
                },
            }
        ],
    ),
    case(
        [
            {
                "series": f'ollamon_spool_oldest_age_seconds{{{HOST}, service="probe"}}',
                "values": "90x20",
            }
        ],
        "telemetry_backlog",
        [
            {
                "exp_labels": FIRED,
                "exp_annotations": {
                    "summary": "Telemetry waiting in a disk spool: box-1",
                    "description": "1m 30s (threshold 60 s)",
                    "threshold_setting": "OLLAMON_ALERT_TELEMETRY_BACKLOG_SECONDS=60",
                },
            }
        ],
    ),
    # one request of two only in Ollama's log: it bypassed the proxy
    case(
        [
            {
                "series": f'ollamon_requests_total{{{HOST}, model="(unknown)", source="log"}}',
                "values": "0+1x20",
            },
            {
                "series": f'ollamon_requests_total{{{MODEL}, source="proxy"}}',
                "values": "0+1x20",
            },
        ],
        "proxy_bypassed",
        [
            {
                "exp_labels": FIRED,
                "exp_annotations": {
                    "summary": "Requests bypassing the proxy: box-1",
                    "description": "50.0 % of requests (threshold 0)",
                    "threshold_setting": "OLLAMON_ALERT_PROXY_BYPASSED_PERCENT=0",
                },
            }
        ],
    ),
]


def test_prometheus_fires_ollamons_rules_as_alerting_would(tmp_path: Path) -> None:
    tests = {
        "rule_files": [str(observability_files.RULES)],
        "evaluation_interval": "15s",
        "tests": CASES,
    }
    test_file = tmp_path / "ollamon-rules.test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
