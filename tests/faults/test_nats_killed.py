"""The embedded nats-server SIGKILLed under 50 requests/s: `ollamon up` restarts it on the same
port, store and configuration within 5 s, and every request the proxy answered is stored
once (its event waits in the probe's outbox across the gap, then JetStream's dedup and
storage's idempotent insert keep it single)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from ollamon_cli.preflight import nats_answers
from tests.faults.observers import SteadyTraffic
from tests.faults.stack_under_fault import fault_stack
from tests.support.stack import RunningStack
from tests.support.waiting import wait_for_async

pytestmark = pytest.mark.timeout(120)

RATE_PER_SECOND = 50
RESTART_LIMIT_SECONDS = 5.0
TRAFFIC_BEFORE_SECONDS = 2.0
TRAFFIC_AFTER_SECONDS = 2.0


def nats_server_pid(stack: RunningStack) -> int | None:
    """The embedded nats-server `ollamon up` runs, if one is alive."""
    for child in psutil.Process(stack.process.pid).children():
        try:
            if child.name() == "nats-server" and child.status() != psutil.STATUS_ZOMBIE:
                return child.pid
        except psutil.NoSuchProcess:
            continue
    return None


async def test_a_killed_nats_server_is_restarted_within_5_s_and_no_answered_request_is_lost(
    tmp_path: Path,
) -> None:
    async with fault_stack(tmp_path) as faults:
        stack = faults.stack
        traffic = SteadyTraffic(stack.proxy_url, requests_per_second=RATE_PER_SECOND)
        traffic.start()
        await asyncio.sleep(TRAFFIC_BEFORE_SECONDS)  # traffic flowing before the fault
        killed = await asyncio.to_thread(nats_server_pid, stack)
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        killed_at = time.monotonic()

        async def restarted() -> bool:
            pid = await asyncio.to_thread(nats_server_pid, stack)
            return pid not in (None, killed) and await asyncio.to_thread(
                nats_answers, stack.nats_url, 0.5
            )

        await wait_for_async(restarted, timeout=RESTART_LIMIT_SECONDS * 3, message="NATS back")
        restart_seconds = time.monotonic() - killed_at
        await asyncio.sleep(TRAFFIC_AFTER_SECONDS)  # traffic flowing after it
        await traffic.stop()

        async def every_answer_stored() -> bool:
            rows = await faults.query_async("SELECT COUNT(*) FROM requests")
            return bool(rows[0][0] >= traffic.answered)

        await wait_for_async(
            every_answer_stored, timeout=30, message=f"{traffic.answered} request rows"
        )
        rows, distinct = (
            await faults.query_async("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM requests")
        )[0]
        counters = {
            name: {
                counter: faults.heartbeats.counter(name, counter)
                for counter in ("publish_retries", "spooled")
            }
            for name in ("probe", "collector")
        }
        restarts = [line for line in stack.output if "nats-server exited" in line]
        print(
            f"nats-server SIGKILLed under {RATE_PER_SECOND} requests/s: restarted and answering "
            f"after {restart_seconds:.2f} s; proxy answers {dict(traffic.outcomes)}; "
            f"request rows {rows} ({distinct} distinct event ids); publisher counters {counters}; "
            f"supervisor said {restarts}"
        )
        assert restart_seconds <= RESTART_LIMIT_SECONDS
        assert set(traffic.outcomes) == {"200"}, traffic.outcomes
        assert rows == distinct == traffic.answered
        assert restarts == [
            "service nats-server exited with code -9; restarting (1/5 in the last minute)"
        ]
