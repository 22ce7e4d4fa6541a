"""Storage fixtures: settings on a temporary folder, an open database, a running service.

Layered: settings (tmp folder + the test's clean NATS) -> database or running service.
The in-process service is the real lifespan, `running_storage`, left when the test ends.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from ollamon_core import subjects
from ollamon_core.bus import Bus, encode
from ollamon_core.events import Event, ServiceName
from ollamon_storage import service
from ollamon_storage.database import Database
from ollamon_storage.settings import StorageSettings


def make_settings(storage_path: Path, nats_url: str, **overrides: object) -> StorageSettings:
    """Storage settings for tests: fast batches and heartbeats."""
    values: dict[str, Any] = {
        "storage_path": storage_path,
        "nats_url": nats_url,
        "batch_interval_seconds": 0.02,
        "heartbeat_interval_seconds": 0.2,
        "host_label": "test-host",
    }
    values.update(overrides)
    return StorageSettings(**values)


@pytest.fixture
def storage_settings(tmp_path: Path, clean_nats_url: str) -> StorageSettings:
    """Settings pointing at a fresh folder and the clean session NATS server."""
    return make_settings(tmp_path / "data", clean_nats_url)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """An open, migrated database in a temporary folder."""
    db = await Database.open(tmp_path / "db" / "ollamon.db")
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def running_storage(storage_settings: StorageSettings) -> AsyncIterator[StorageSettings]:
    """The storage service running in this process until the test ends."""
    async with service.running_storage(storage_settings):
        await wait_for_ready(storage_settings)
        yield storage_settings


async def wait_for_ready(settings: StorageSettings, timeout: float = 15.0) -> None:
    """Wait until the storage durable consumer exists (the service is consuming)."""
    bus = await Bus.connect(settings.nats_url, ServiceName.GATEWAY)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                info = await bus.js.consumer_info(subjects.STREAM_EVENTS, subjects.STORAGE_DURABLE)
                if info.push_bound:
                    return
            except Exception:  # not created yet
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("storage did not start consuming in time")
            await asyncio.sleep(0.05)
    finally:
        await bus.close()


async def publish_all(bus: Bus, events: Iterable[Event], *, in_flight: int = 2000) -> int:
    """Publish events through JetStream with many in flight; wait for every ack."""
    pending = []
    count = 0
    for event in events:
        pending.append(
            await bus.js.publish_async(
                subjects.subject_for(event), encode(event), headers={"Nats-Msg-Id": event.event_id}
            )
        )
        count += 1
        if len(pending) >= in_flight:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return count


def count_rows(database_path: Path, table: str) -> int:
    """Rows of a table, read on a separate connection (0 when the file or table is missing)."""
    if not database_path.exists():
        return 0
    conn = sqlite3.connect(database_path, timeout=10)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


async def count_rows_async(database_path: Path, table: str) -> int:
    """`count_rows` off the event loop."""
    return await asyncio.to_thread(count_rows, database_path, table)


def fetch_all(database_path: Path, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
    """Every row of one query, read on a separate connection."""
    conn = sqlite3.connect(database_path, timeout=10)
    try:
        return conn.execute(sql, parameters).fetchall()
    finally:
        conn.close()


async def fetch_all_async(
    database_path: Path, sql: str, *parameters: object
) -> list[tuple[Any, ...]]:
    """`fetch_all` off the event loop."""
    return await asyncio.to_thread(fetch_all, database_path, sql, *parameters)
