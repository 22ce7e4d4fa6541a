"""`stack_footprint`: every process of `ollamon up` is measured idle and under load, beside
Glances and the emulator, and the three figures of the issue come out of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scenarios.stack_footprint import Windows, measure, results
from ollamon_cli.stack_services import SERVICE_ORDER

pytestmark = pytest.mark.timeout(90)

# The supervisor, nats-server and the six services' one process (`ollamon up`'s default).
STACK = {"supervisor", "nats-server", "services"}


async def test_a_short_run_measures_every_process_of_the_stack_and_answers_every_request(
    tmp_path: Path,
) -> None:
    footprint = await measure(tmp_path, Windows(warm_up=1.0, idle=2.0, busy=2.0))

    assert set(footprint.idle_cpu_seconds) == STACK
    assert footprint.shared_services == list(SERVICE_ORDER)
    assert set(footprint.busy_cpu_seconds) == STACK
    assert all(footprint.max_rss_bytes[name] > 10 * 1024**2 for name in STACK)
    assert footprint.requests_sent == 20
    assert footprint.requests_ok == footprint.requests_sent
    assert footprint.glances_max_rss_bytes > 0
    assert sum(footprint.busy_cpu_seconds.values()) > 0

    figures = {result.metric: result for result in results(footprint)}
    assert set(figures) == {
        "stack idle, % of one core",
        "stack CPU ms per request",
        "stack RSS MB (sum of peaks)",
    }
    assert figures["stack RSS MB (sum of peaks)"].reference is not None
    processes = figures["stack idle, % of one core"].notes["processes"]
    assert isinstance(processes, dict) and set(processes) == STACK
    assert all(processes[name]["pss_mb_at_end"] > 0 for name in STACK)
