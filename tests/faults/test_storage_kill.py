"""Storage killed with SIGKILL in the middle of an ingest, restarted by `ollamon up`.

The storage-level test (tests/services/storage/test_crash_recovery.py) kills a lone storage
process; this one kills the storage child of the whole stack while the other services keep
consuming the same events, and lets the supervisor restart it. Every event must end up in
SQLite exactly once, and the per-minute and per-hour rollups must count each once too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from ollamon_core import subjects
from ollamon_core.bus import MSG_ID_HEADER, encode
from ollamon_core.events import OllamaModelMetrics
from tests.faults.observers import kill_reports, restarts_reported, service_processes
from tests.faults.stack_under_fault import fault_stack
from tests.support.waiting import wait_for, wait_for_async

pytestmark = pytest.mark.timeout(180)

EVENT_COUNT = 10_000
KILL_AFTER_ROWS = 1_500
IN_FLIGHT = 1_000
HOST = "fault-ingest"


async def publish_acknowledged(nc: NatsClient, events: list[OllamaModelMetrics]) -> int:
    """Publish through JetStream with many in flight; returns how many the stream acked."""
    js = nc.jetstream()
    acked = 0
    for start in range(0, len(events), IN_FLIGHT):
        futures = [
            await js.publish_async(
                subjects.subject_for(event),
                encode(event),
                headers={MSG_ID_HEADER: event.event_id},
            )
            for event in events[start : start + IN_FLIGHT]
        ]
        acked += len(await asyncio.gather(*futures))
    return acked


async def test_storage_killed_mid_ingest_and_restarted_stores_every_event_exactly_once(
    tmp_path: Path,
) -> None:
    events = [
        OllamaModelMetrics(
            host=HOST, model_name=f"ingest-{index % 7}", response_time_ms=float(index % 500 + 1)
        )
        for index in range(EVENT_COUNT)
    ]
    async with fault_stack(tmp_path) as faults:
        storage = (await service_processes(faults.stack))["storage"]
        count_sql = "SELECT COUNT(*) FROM requests WHERE host = ?"

        async def stored() -> int:
            return int((await faults.query_async(count_sql, HOST))[0][0])

        started = time.monotonic()
        publishing = asyncio.create_task(publish_acknowledged(faults.nc, events))
        await wait_for_async(
            lambda: _at_least(stored, KILL_AFTER_ROWS), timeout=60, message="rows before the kill"
        )
        await asyncio.to_thread(storage.kill)  # psutil reads /proc first
        stored_at_kill = await stored()
        await wait_for(
            lambda: kill_reports(faults.stack, "storage"),
            timeout=10,
            message="the supervisor restarting storage",
        )
        assert await asyncio.wait_for(publishing, 120) == EVENT_COUNT
        await wait_for_async(
            lambda: _at_least(stored, EVENT_COUNT), timeout=120, message="every event stored"
        )
        elapsed_seconds = time.monotonic() - started

        rows = await faults.query_async(
            "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM requests WHERE host = ?", HOST
        )
        ids = {
            row[0]
            for row in await faults.query_async(
                "SELECT event_id FROM requests WHERE host = ?", HOST
            )
        }
        rolled = dict(
            await faults.query_async(
                "SELECT resolution_s, SUM(request_count) FROM request_rollups WHERE host = ? "
                "GROUP BY resolution_s",
                HOST,
            )
        )
        total, distinct = rows[0]
        print(
            f"killed storage at {stored_at_kill}/{EVENT_COUNT} rows; after the restart "
            f"{total} rows, {distinct} distinct, lost {EVENT_COUNT - distinct}, duplicated "
            f"{total - distinct}; rollups per resolution {rolled}; {elapsed_seconds:.1f} s in all"
        )
        assert stored_at_kill < EVENT_COUNT, "the kill came after the ingest had finished"
        assert (total, distinct) == (EVENT_COUNT, EVENT_COUNT)
        assert ids == {event.event_id for event in events}
        assert rolled == {60: EVENT_COUNT, 3600: EVENT_COUNT}
        assert restarts_reported(faults.stack) == kill_reports(faults.stack, "storage")


async def _at_least(count: Callable[[], Awaitable[int]], wanted: int) -> bool:
    return await count() >= wanted
