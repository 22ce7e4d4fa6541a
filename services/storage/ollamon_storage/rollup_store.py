"""How rollups map to rows of `request_rollups`, and the SQL that reads and writes them.

The conversions are pure; `merge_rows` takes the rows already stored for some keys and the
deltas of a batch and returns the rows to write, so ingest (aiosqlite), the schema
backfill and the bench (sqlite3) share one code path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ollamon_storage import histogram
from ollamon_storage.rollups import RequestSample, Rollup, RollupKey, rollup_deltas

ROLLUP_COLUMNS = (
    "resolution_s",
    "bucket_start_s",
    "host",
    "model_name",
    "request_count",
    "error_count",
    "response_time_sum_ms",
    "tokens_per_second_sum",
    "tokens_per_second_count",
    "load_duration_sum_ms",
    "cold_start_count",
    "last_ts_ms",
    "latency_histogram",
    "ttft_histogram",
    "queue_wait_sum_ms",
    "queue_wait_count",
    "cold_load_sum_ms",
    "cold_load_count",
)


def upsert_rollup_sql(columns: Sequence[str] = ROLLUP_COLUMNS) -> str:
    """SQL writing rollup rows of `columns` (a prefix of `ROLLUP_COLUMNS`)."""
    return (
        f"INSERT OR REPLACE INTO request_rollups ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join('?' for _ in columns)})"
    )


UPSERT_ROLLUP_SQL = upsert_rollup_sql()
SELECT_ROLLUP_COLUMNS = ", ".join(ROLLUP_COLUMNS)
MAX_KEYS_PER_SELECT = 200  # 4 parameters each, far below SQLite's parameter limit


def rollup_to_row(key: RollupKey, rollup: Rollup) -> tuple[Any, ...]:
    """The row storing one rollup."""
    return (
        *key,
        rollup.request_count,
        rollup.error_count,
        rollup.response_time_sum_ms,
        rollup.tokens_per_second_sum,
        rollup.tokens_per_second_count,
        rollup.load_duration_sum_ms,
        rollup.cold_start_count,
        rollup.last_timestamp_ms,
        histogram.encode(rollup.latency_histogram),
        histogram.encode(rollup.ttft_histogram),
        rollup.queue_wait_sum_ms,
        rollup.queue_wait_count,
        rollup.cold_load_sum_ms,
        rollup.cold_load_count,
    )


def row_to_rollup(row: Sequence[Any]) -> tuple[RollupKey, Rollup]:
    """Read back a row of `ROLLUP_COLUMNS` (or of the first columns only: a backfill that
    runs before the later migrations added theirs)."""
    key: RollupKey = (int(row[0]), int(row[1]), str(row[2]), str(row[3]))
    if len(row) < len(ROLLUP_COLUMNS):
        row = (*row, *(0 for _ in range(len(ROLLUP_COLUMNS) - len(row))))
    return key, Rollup(
        request_count=int(row[4]),
        error_count=int(row[5]),
        response_time_sum_ms=float(row[6]),
        tokens_per_second_sum=float(row[7]),
        tokens_per_second_count=int(row[8]),
        load_duration_sum_ms=float(row[9]),
        cold_start_count=int(row[10]),
        last_timestamp_ms=int(row[11]),
        latency_histogram=histogram.decode(row[12]),
        ttft_histogram=histogram.decode(row[13]),
        queue_wait_sum_ms=float(row[14]),
        queue_wait_count=int(row[15]),
        cold_load_sum_ms=float(row[16]),
        cold_load_count=int(row[17]),
    )


def select_existing_sql(key_count: int, columns: Sequence[str] = ROLLUP_COLUMNS) -> str:
    """SQL reading the stored rollups of `key_count` keys (4 parameters per key)."""
    values = ", ".join("(?, ?, ?, ?)" for _ in range(key_count))
    return (
        f"SELECT {', '.join(columns)} FROM request_rollups "  # noqa: S608
        f"WHERE (resolution_s, bucket_start_s, host, model_name) IN (VALUES {values})"
    )


def key_chunks(keys: Iterable[RollupKey]) -> list[list[RollupKey]]:
    """Split keys into groups small enough for one SELECT."""
    ordered = list(keys)
    return [
        ordered[start : start + MAX_KEYS_PER_SELECT]
        for start in range(0, len(ordered), MAX_KEYS_PER_SELECT)
    ]


def flatten(keys: Iterable[RollupKey]) -> list[Any]:
    """Parameters for `select_existing_sql`."""
    return [part for key in keys for part in key]


def merge_rows(
    existing_rows: Iterable[Sequence[Any]], deltas: Mapping[RollupKey, Rollup]
) -> list[tuple[Any, ...]]:
    """Rows to write: each delta added to what is stored for its key."""
    stored = dict(row_to_rollup(row) for row in existing_rows)
    rows = []
    for key, delta in deltas.items():
        merged = stored.get(key)
        combined = Rollup().merge(delta) if merged is None else merged.merge(delta)
        rows.append(rollup_to_row(key, combined))
    return rows


def stored_columns(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The `ROLLUP_COLUMNS` the table has now (a migration's backfill may run before a
    later migration adds its columns)."""
    present = {str(row[1]) for row in conn.execute("PRAGMA table_info(request_rollups)")}
    return tuple(column for column in ROLLUP_COLUMNS if column in present)


def apply_deltas_sync(conn: sqlite3.Connection, deltas: Mapping[RollupKey, Rollup]) -> None:
    """Merge deltas into stored rollups on a sqlite3 connection, in the caller's transaction."""
    columns = stored_columns(conn)
    existing: list[Sequence[Any]] = []
    for chunk in key_chunks(deltas):
        sql = select_existing_sql(len(chunk), columns)
        existing.extend(conn.execute(sql, flatten(chunk)).fetchall())
    rows = [row[: len(columns)] for row in merge_rows(existing, deltas)]
    conn.executemany(upsert_rollup_sql(columns), rows)


def sample_from_row(row: Sequence[Any]) -> RequestSample:
    """A rollup sample from a `requests` row (ts_ms, host, model, response, ttft, tps, ...)."""
    return RequestSample(
        timestamp_ms=int(row[0]),
        host=str(row[1]),
        model_name=str(row[2]),
        response_time_ms=float(row[3]),
        time_to_first_token_ms=None if row[4] is None else float(row[4]),
        tokens_per_second=None if row[5] is None else float(row[5]),
        load_duration_ms=float(row[6]),
        error_occurred=bool(row[7]),
        cold_start=bool(row[8]),
    )


SAMPLE_COLUMNS = (
    "ts_ms, host, model_name, response_time_ms, time_to_first_token_ms, tokens_per_second, "
    "load_duration_ms, error_occurred, cold_start"
)
BACKFILL_CHUNK_ROWS = 50_000


def backfill_from_requests(conn: sqlite3.Connection) -> None:
    """Build rollups from every stored request (migration 2), a chunk of rows at a time."""
    cursor = conn.execute(f"SELECT {SAMPLE_COLUMNS} FROM requests ORDER BY id")  # noqa: S608
    while rows := cursor.fetchmany(BACKFILL_CHUNK_ROWS):
        apply_deltas_sync(conn, rollup_deltas(sample_from_row(row) for row in rows))
