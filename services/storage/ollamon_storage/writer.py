"""One batch, one transaction: raw rows, their rollups and latest-state rows commit together.

Requests already stored (a redelivery after a crash) are found first and skipped, so their
rollups are never counted twice; every other table relies on `INSERT OR IGNORE` on its
unique `event_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from ollamon_storage import rollup_store, rows
from ollamon_storage.database import Database
from ollamon_storage.rollups import rollup_deltas

MAX_IDS_PER_SELECT = 500


async def _stored_request_ids(conn: aiosqlite.Connection, event_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(event_ids), MAX_IDS_PER_SELECT):
        chunk = event_ids[start : start + MAX_IDS_PER_SELECT]
        marks = ", ".join("?" for _ in chunk)
        sql = f"SELECT event_id FROM requests WHERE event_id IN ({marks})"  # noqa: S608
        async with conn.execute(sql, chunk) as cursor:
            found.update(row[0] for row in await cursor.fetchall())
    return found


async def _write_requests(conn: aiosqlite.Connection, batch: rows.BatchRows) -> int:
    request_rows = batch.inserts.get("requests", [])
    if not request_rows:
        return 0
    stored = await _stored_request_ids(conn, list(batch.samples))
    new_rows = [row for row in request_rows if row[0] not in stored]
    if not new_rows:
        return 0
    await conn.executemany(rows.INSERT_SQL["requests"], new_rows)
    deltas = rollup_deltas(batch.samples[row[0]] for row in new_rows)
    existing: list[Any] = []
    for chunk in rollup_store.key_chunks(deltas):
        sql = rollup_store.select_existing_sql(len(chunk))
        async with conn.execute(sql, rollup_store.flatten(chunk)) as cursor:
            existing.extend(await cursor.fetchall())
    await conn.executemany(
        rollup_store.UPSERT_ROLLUP_SQL, rollup_store.merge_rows(existing, deltas)
    )
    return len(new_rows)


async def write_batch(database: Database, batch: rows.BatchRows) -> int:
    """Commit a batch in one transaction; return how many new request rows it stored.

    On any error the transaction is rolled back and the error raised, so nothing of the
    batch may be acknowledged.
    """
    async with database.transaction() as conn:
        new_requests = await _write_requests(conn, batch)
        for table, table_rows in batch.inserts.items():
            if table != "requests" and table_rows:
                await conn.executemany(rows.INSERT_SQL[table], table_rows)
        if batch.alert_states:
            await conn.executemany(rows.UPSERT_ALERT_STATE_SQL, batch.alert_states)
        if batch.snapshots:
            await conn.executemany(rows.UPSERT_SNAPSHOT_SQL, batch.snapshots)
        if batch.hosts:
            await conn.executemany(rows.UPSERT_HOST_SQL, batch.host_rows())
    return new_requests
