"""Hosts as a dimension, pure: rollups per (host, model), host summaries, the roll-up."""

from __future__ import annotations

from datetime import timedelta

from ollamon_core.events import OllamaHealth, utc_now
from ollamon_storage import fleet
from ollamon_storage.rollups import MINUTE_SECONDS, RequestSample, Rollup, RollupKey


def _rollup(host: str, model: str, response_time_ms: float) -> tuple[RollupKey, Rollup]:
    rollup = Rollup()
    rollup.add(RequestSample(0, host, model, response_time_ms, error_occurred=False))
    return (MINUTE_SECONDS, 0, host, model), rollup


def test_buckets_are_combined_per_host_and_model_and_hosts_never_together() -> None:
    combined = fleet.combine_by_host_model(
        [_rollup("vm", "m", 100.0), _rollup("vm", "m", 300.0), _rollup("hostB", "m", 4000.0)]
    )
    assert {key: rollup.request_count for key, rollup in combined.items()} == {
        ("vm", "m"): 2,
        ("hostB", "m"): 1,
    }
    assert combined[("vm", "m")].response_time_sum_ms == 400.0
    assert fleet.merge_hosts(combined).request_count == 3


def test_each_ollama_url_keeps_its_newest_health_and_up_needs_every_url() -> None:
    now = utc_now()
    newest_first = [
        OllamaHealth(host="vm", ollama_url="http://b:11434", up=False, timestamp=now),
        OllamaHealth(host="vm", ollama_url="http://a:11434", up=True, timestamp=now),
        OllamaHealth(
            host="vm", ollama_url="http://b:11434", up=True, timestamp=now - timedelta(minutes=1)
        ),
    ]
    latest = fleet.latest_per_url(newest_first)
    assert [(health.ollama_url, health.up) for health in latest] == [
        ("http://a:11434", True),
        ("http://b:11434", False),
    ]
    assert fleet.ollama_up(latest) is False
    assert fleet.ollama_up(latest[:1]) is True
    assert fleet.ollama_up(()) is None  # never heard of: not "down"


def test_a_host_silent_longer_than_the_window_is_not_reporting() -> None:
    now_ms = 10_000_000
    window_ms = fleet.REPORTING_WINDOW_SECONDS * 1000
    records = [
        fleet.HostRecord("fresh", 0, now_ms - window_ms),
        fleet.HostRecord("silent", 0, now_ms - window_ms - 1),
    ]
    summaries = fleet.host_summaries(records, {}, [], [], now_ms)
    assert [(summary.host, summary.reporting) for summary in summaries] == [
        ("fresh", True),
        ("silent", False),
    ]
    rollup = fleet.fleet_rollup(summaries, [], [])
    assert (rollup.host_count, rollup.hosts_reporting, rollup.hosts_ollama_down) == (2, 1, 0)
