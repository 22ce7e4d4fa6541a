"""Retention (days and row caps) and online backups.

Deletes run in chunks, each its own short transaction under the write lock, so ingest
batches interleave with a long cleanup instead of waiting for it. Row caps bound raw detail
only: rollups keep the aggregates until the retention days have passed.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ollamon_storage.database import Database
from ollamon_storage.paths import open_new_file
from ollamon_storage.rollups import RESOLUTIONS_SECONDS
from ollamon_storage.settings import StorageSettings

DELETE_CHUNK_ROWS = 5_000
RAW_TABLES = (
    "requests",
    "system_samples",
    "alerts",
    "scores",
    "lifecycle",
    "health",
    "alert_audit",
    "notification_deliveries",
    "benchmark_runs",  # their results go with them (a trigger)
)


@dataclass(frozen=True)
class RowCaps:
    """Most rows kept per raw table."""

    per_table: dict[str, int]

    @classmethod
    def from_settings(cls, settings: StorageSettings) -> RowCaps:
        """Caps from the storage settings."""
        return cls(
            {
                "requests": settings.max_request_rows,
                "system_samples": settings.max_system_rows,
                "alerts": settings.max_alert_rows,
                "scores": settings.max_other_rows,
                "lifecycle": settings.max_other_rows,
                "health": settings.max_other_rows,
                "alert_audit": settings.max_other_rows,
                "notification_deliveries": settings.max_other_rows,
                "benchmark_runs": settings.max_other_rows,
            }
        )


async def _delete_in_chunks(database: Database, table: str, where: str, value: int) -> int:
    sql = (
        f"DELETE FROM {table} WHERE rowid IN "  # noqa: S608 (fixed table names)
        f"(SELECT rowid FROM {table} WHERE {where} LIMIT {DELETE_CHUNK_ROWS})"
    )
    deleted = 0
    while True:
        async with database.transaction() as conn:
            cursor = await conn.execute(sql, (value,))
            count = cursor.rowcount
        deleted += max(count, 0)
        if count < DELETE_CHUNK_ROWS:
            return deleted


async def delete_older_than(database: Database, days_to_keep: float) -> dict[str, int]:
    """Delete every row older than `days_to_keep` days; return the counts per table."""
    cutoff_ms = int((time.time() - days_to_keep * 86400) * 1000)
    deleted = {
        table: await _delete_in_chunks(database, table, "ts_ms < ?", cutoff_ms)
        for table in RAW_TABLES
    }
    deleted["request_rollups"] = 0
    for resolution_s in RESOLUTIONS_SECONDS:  # a range of the primary key each
        async with database.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM request_rollups WHERE resolution_s = ? AND bucket_start_s < ?",
                (resolution_s, cutoff_ms // 1000),
            )
            deleted["request_rollups"] += max(cursor.rowcount, 0)
    # Firing alerts stay listed as active however old; resolved ones go with their history.
    deleted["alert_state"] = await _delete_in_chunks(
        database, "alert_state", "state = 'resolved' AND ts_ms < ?", cutoff_ms
    )
    deleted["model_snapshots"] = await _delete_in_chunks(
        database, "model_snapshots", "ts_ms < ?", cutoff_ms
    )
    # A host with nothing newer than the cutoff is no longer known (its queries 404).
    deleted["hosts"] = await _delete_in_chunks(database, "hosts", "last_seen_ms < ?", cutoff_ms)
    return deleted


async def enforce_caps(database: Database, caps: RowCaps) -> dict[str, int]:
    """Delete the oldest rows (by insertion order) of every table above its cap."""
    deleted: dict[str, int] = {}
    for table, cap in caps.per_table.items():
        async with database.reader.execute(
            f"SELECT id FROM {table} ORDER BY id DESC LIMIT 1 OFFSET ?",  # noqa: S608
            (cap,),
        ) as cursor:
            row = await cursor.fetchone()
        deleted[table] = (
            0 if row is None else await _delete_in_chunks(database, table, "id <= ?", int(row[0]))
        )
    return deleted


async def cleanup(database: Database, days_to_keep: float, caps: RowCaps) -> dict[str, int]:
    """Apply retention days, then row caps; return rows deleted per table."""
    deleted = await delete_older_than(database, days_to_keep)
    for table, count in (await enforce_caps(database, caps)).items():
        deleted[table] = deleted.get(table, 0) + count
    return deleted


def backup_database(database_path: Path, target: Path) -> int:
    """Copy the live database with SQLite's backup API; blocking, run it in a thread.

    The copy is written, private (0600), beside the target and then linked to its name,
    so a reader never sees a half-written backup and an existing file is never replaced.
    Returns the size in bytes.

    Raises:
        FileExistsError: `target` exists (before the copy, or by the time it is done).
    """
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "exists already", target.name)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)  # left by a backup that was killed
    os.close(open_new_file(partial))
    try:
        source = sqlite3.connect(f"file:{database_path}?mode=ro", uri=True)
        try:
            destination = sqlite3.connect(partial)
            try:
                source.backup(destination)  # one step: a consistent snapshot, one read lock
            finally:
                destination.close()
        finally:
            source.close()
        os.link(partial, target)  # fails, rather than replaces, when the target appeared
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size
