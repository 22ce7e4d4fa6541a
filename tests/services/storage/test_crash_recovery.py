"""kill -9 in the middle of an ingest loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from ollamon_core.events import ServiceName
from ollamon_storage.settings import StorageSettings
from tests.conftest import BusFactory
from tests.services.storage import factories
from tests.services.storage.conftest import count_rows_async, publish_all, wait_for_ready
from tests.support.waiting import wait_for_async

EVENT_COUNT = 50_000


async def _start_storage(settings: StorageSettings, log_path: Path) -> asyncio.subprocess.Process:
    env = os.environ | {
        "OLLAMON_NATS_URL": settings.nats_url,
        "OLLAMA_PERFORMANCE_STORAGE_PATH": str(settings.storage_path),
        "OLLAMON_HEARTBEAT_INTERVAL": "1",
        "OLLAMON_LOG_LEVEL": "WARNING",
    }
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ollamon_storage", env=env, stdout=log, stderr=log
        )
    await wait_for_ready(settings, timeout=30)
    return process


def _stored(settings: StorageSettings) -> tuple[int, set[str], int]:
    conn = sqlite3.connect(settings.database_path, timeout=10)
    try:
        ids = {row[0] for row in conn.execute("SELECT event_id FROM requests")}
        count = conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        rolled = conn.execute(
            "SELECT COALESCE(SUM(request_count), 0) FROM request_rollups WHERE resolution_s = 60"
        ).fetchone()[0]
    finally:
        conn.close()
    return count, ids, rolled


@pytest.mark.timeout(240)
async def test_kill_9_mid_ingest_then_restart_stores_every_event_exactly_once(
    storage_settings: StorageSettings, bus_factory: BusFactory, tmp_path: Path
) -> None:
    bus = await bus_factory(ServiceName.PROBE)
    events = [
        factories.request(response_time_ms=float(index % 997 + 1)) for index in range(EVENT_COUNT)
    ]
    log_path = tmp_path / "storage.log"
    first = await _start_storage(storage_settings, log_path)
    publishing = asyncio.create_task(publish_all(bus, events))
    try:

        async def some_stored() -> bool:
            return await count_rows_async(storage_settings.database_path, "requests") >= 5_000

        await wait_for_async(some_stored, timeout=60, message="5,000 rows before the kill")
        first.send_signal(signal.SIGKILL)
        await first.wait()
        stored_at_kill = await count_rows_async(storage_settings.database_path, "requests")
        assert stored_at_kill < EVENT_COUNT, "the kill came after the ingest finished"
        assert await asyncio.wait_for(publishing, 120) == EVENT_COUNT
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()

    second = await _start_storage(storage_settings, log_path)
    try:

        async def all_stored() -> bool:
            return await count_rows_async(storage_settings.database_path, "requests") >= EVENT_COUNT

        await wait_for_async(all_stored, timeout=120, message=f"{EVENT_COUNT} rows after restart")
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 30) == 0
    finally:
        if second.returncode is None:
            second.kill()
            await second.wait()

    count, ids, rolled = await asyncio.to_thread(_stored, storage_settings)
    assert count == EVENT_COUNT
    assert ids == {event.event_id for event in events}
    assert rolled == EVENT_COUNT  # rollups counted each event once too
