"""Ctrl-C to `ollamon up`'s process group during traffic (what a terminal sends): the stack
exits 0, stops every service before NATS (so no service sees NATS go away), prints no
traceback, and every request the proxy answered is stored once by the next start."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from ollamon_cli.nats_server import free_port
from tests.faults.observers import SteadyTraffic
from tests.faults.stack_under_fault import fault_stack
from tests.support.stack import start_stack, stop_stack
from tests.support.waiting import wait_for_async

pytestmark = pytest.mark.timeout(120)

RATE_PER_SECOND = 20
TRAFFIC_BEFORE_SECONDS = 2.0


def stored_requests(database: Path) -> tuple[int, int]:
    """Request rows and distinct event ids in storage's SQLite file."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        rows, distinct = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM requests"
        ).fetchone()
    return int(rows), int(distinct)


async def test_ctrl_c_to_the_process_group_stops_services_before_nats_and_loses_nothing(
    tmp_path: Path,
) -> None:
    async with fault_stack(tmp_path) as faults:
        stack = faults.stack
        traffic = SteadyTraffic(stack.proxy_url, requests_per_second=RATE_PER_SECOND)
        traffic.start()
        await asyncio.sleep(TRAFFIC_BEFORE_SECONDS)  # traffic flowing when Ctrl-C comes
        signalled_at = time.monotonic()
        os.killpg(stack.process.pid, signal.SIGINT)
        exit_code = await asyncio.to_thread(stack.process.wait, 60)
        stop_seconds = time.monotonic() - signalled_at
        await traffic.stop()
    output = stack.output[stack.output.index("ollamon: stopping") :]
    services_stopped = output.index("ollamon: services stopped")
    nats_stopped = output.index("ollamon: nats-server stopped")
    disconnects = [line for line in output if "NATS disconnected" in line]

    # Everything the proxy answered reaches SQLite, by the next start at the latest.
    again = await asyncio.to_thread(
        start_stack, stack.storage_path, f"http://127.0.0.1:{free_port()}"
    )
    try:

        async def every_answer_stored() -> bool:
            rows, _ = await asyncio.to_thread(stored_requests, again.database_path)
            return rows >= traffic.answered

        await wait_for_async(
            every_answer_stored, timeout=30, message=f"{traffic.answered} request rows"
        )
        rows, distinct = await asyncio.to_thread(stored_requests, again.database_path)
    finally:
        await asyncio.to_thread(stop_stack, again)
    print(
        f"Ctrl-C during {RATE_PER_SECOND} requests/s: exit {exit_code} after {stop_seconds:.2f} s; "
        f"services stopped at line {services_stopped}, NATS at line {nats_stopped} of the "
        f"shutdown output; NATS disconnects seen by services {len(disconnects)}; proxy "
        f"outcomes {dict(traffic.outcomes)}; request rows {rows} ({distinct} distinct)"
    )
    assert exit_code == 0
    assert services_stopped < nats_stopped
    assert disconnects == []
    assert "Traceback" not in stack.text()
    assert traffic.answered > 0
    assert rows == distinct == traffic.answered
