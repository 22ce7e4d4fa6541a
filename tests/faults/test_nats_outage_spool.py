"""nats-server kept down under 20 requests/s, the probe SIGKILLed during the outage.

The stack runs against a nats-server this test owns. While requests flow through the proxy,
the server is stopped and kept down for `OUTAGE_SECONDS` (`OLLAMON_FAULT_OUTAGE_SECONDS`;
60 s in CI, the issue's 5 minutes is `OLLAMON_FAULT_OUTAGE_SECONDS=300`). Half way through,
the probe is killed with SIGKILL: what it had accepted sits in its disk spool, and the probe
`ollamon up` starts again waits for NATS. Once the server is back, every request the proxy
answered must be stored exactly once (its spooled event replayed with its own event_id).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from pathlib import Path

import pytest

from ollamon_cli.nats_server import NatsServer
from ollamon_core import subjects
from ollamon_core.bus import MSG_ID_HEADER
from ollamon_core.bus.spool import SPOOL_FILE
from tests.faults.observers import SteadyTraffic, kill_reports, service_processes
from tests.faults.stack_under_fault import FaultStack, fault_stack
from tests.support.waiting import wait_for, wait_for_async

OUTAGE_SECONDS = float(os.environ.get("OLLAMON_FAULT_OUTAGE_SECONDS", "60"))
REQUESTS_PER_SECOND = 20
TRAFFIC_BEFORE_SECONDS = 3.0
TRAFFIC_AFTER_SECONDS = 5.0

pytestmark = pytest.mark.timeout(OUTAGE_SECONDS + 240)


def spool_size(path: Path) -> tuple[int, int]:
    """(events, body bytes) in a spool file, read as another process would."""
    if not path.exists():
        return 0, 0
    uri = f"file:{path}?mode=ro"
    with (
        contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as db,
        contextlib.suppress(sqlite3.OperationalError),  # the table not created yet
    ):
        count, size = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM spool"
        ).fetchone()
        return int(count), int(size)
    return 0, 0


class SpoolWatch:
    """Samples the probe's spool file every half second; keeps the peak."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.now = (0, 0)
        self.peak = (0, 0)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(sqlite3.Error):
                self.now = await asyncio.to_thread(spool_size, self.path)
                self.peak = max(self.peak, self.now)
            await asyncio.sleep(0.5)


async def request_messages(faults: FaultStack) -> tuple[int, int]:
    """(messages, distinct event ids) on the request subjects of the stream."""
    js = faults.nc.jetstream()
    info = await js.stream_info(subjects.STREAM_EVENTS)
    total, ids = 0, set()
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(subjects.STREAM_EVENTS, sequence)
        if subjects.subject_matches(subjects.REQUESTS_ALL, message.subject or ""):
            total += 1
            ids.add((message.headers or {}).get(MSG_ID_HEADER, ""))
    return total, len(ids)


async def test_every_request_answered_through_a_nats_outage_and_a_probe_kill_is_stored_once(
    tmp_path: Path, isolated_nats_server: NatsServer
) -> None:
    server = isolated_nats_server
    spool_file = tmp_path / "spool" / "probe" / SPOOL_FILE  # OLLAMON_SPOOL_PATH (conftest)
    async with fault_stack(tmp_path, nats_url=server.url) as faults:
        watch = SpoolWatch(spool_file)
        watch.start()
        traffic = SteadyTraffic(faults.stack.proxy_url, requests_per_second=REQUESTS_PER_SECOND)
        traffic.start()
        await asyncio.sleep(TRAFFIC_BEFORE_SECONDS)

        await asyncio.to_thread(server.stop)
        down_at = time.monotonic()
        await wait_for(lambda: watch.now[0] > 0, timeout=15, message="the probe spooling")
        await asyncio.sleep(max(0.0, down_at + OUTAGE_SECONDS / 2 - time.monotonic()))
        probe = (await service_processes(faults.stack))["probe"]
        spooled_at_kill = watch.now[0]
        answered_at_kill = traffic.outcomes["200"]
        await asyncio.to_thread(probe.kill)
        await wait_for(
            lambda: kill_reports(faults.stack, "probe"),
            timeout=10,
            message="the supervisor restarting the probe",
        )
        await asyncio.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
        await asyncio.to_thread(server.start)
        back_at = time.monotonic()
        await wait_for(lambda: watch.now[0] == 0, timeout=60, message="the spool replayed")
        replayed_seconds = time.monotonic() - back_at
        await asyncio.sleep(TRAFFIC_AFTER_SECONDS)
        await traffic.stop()
        await watch.stop()

        answered = traffic.outcomes["200"]

        async def stored() -> int:
            return int((await faults.query_async("SELECT COUNT(*) FROM requests"))[0][0])

        await wait_for_async(
            lambda: _equals(stored, answered), timeout=60, message=f"{answered} request rows"
        )
        await wait_for(  # the new probe replayed what the killed one left, and says so
            lambda: (
                faults.heartbeats.counter("probe", "spool_replayed") >= spooled_at_kill
                and faults.heartbeats.counter("probe", "spool_events") == 0
            ),
            timeout=15,
            message="the probe's heartbeats showing its spool replayed and empty",
        )
        messages, distinct = await request_messages(faults)
        rows = await stored()
        distinct_rows = int(
            (await faults.query_async("SELECT COUNT(DISTINCT event_id) FROM requests"))[0][0]
        )
        print(
            f"outage {OUTAGE_SECONDS:.0f} s at {REQUESTS_PER_SECOND} requests/s: requests sent "
            f"{sum(traffic.outcomes.values())} ({dict(traffic.outcomes)}), answered 200 "
            f"{answered}, stored {rows} (distinct event ids {distinct_rows}); probe killed "
            f"with {spooled_at_kill} events spooled and {answered_at_kill} answered; spool "
            f"peak {watch.peak[0]} events / {watch.peak[1]} bytes of JSON; replayed within "
            f"{replayed_seconds:.1f} s of NATS being back; request messages in the stream "
            f"{messages}, duplicates {messages - distinct}"
        )
        assert answered > REQUESTS_PER_SECOND * TRAFFIC_BEFORE_SECONDS
        assert spooled_at_kill > 0
        assert rows == distinct_rows == answered


async def _equals(count: object, wanted: int) -> bool:
    assert callable(count)
    return bool(await count() == wanted)
