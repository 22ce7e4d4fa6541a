"""The SQLite schema as an ordered list of migrations, versioned by `PRAGMA user_version`.

Each migration moves the database from `version - 1` to `version` in one transaction: its
SQL, then an optional Python step (a backfill) over the same connection. `migrate` applies
the pending ones at start; it runs on a plain sqlite3 connection in a worker thread, before
the service opens its async connections.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ollamon_storage import benchmark_store, delivery_log, rollup_store
from ollamon_storage.paths import private_file, private_folder


@dataclass(frozen=True)
class Migration:
    """One schema step."""

    version: int
    description: str
    sql: str
    backfill: Callable[[sqlite3.Connection], None] | None = None


_RAW_TABLES = """
CREATE TABLE requests (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    model_name TEXT NOT NULL,
    response_time_ms REAL NOT NULL,
    time_to_first_token_ms REAL,
    tokens_per_second REAL,
    load_duration_ms REAL NOT NULL,
    error_occurred INTEGER NOT NULL,
    cold_start INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX requests_by_model_time ON requests (model_name, ts_ms);
CREATE INDEX requests_by_time ON requests (ts_ms);

CREATE TABLE system_samples (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX system_by_time ON system_samples (ts_ms);
CREATE INDEX system_by_host_time ON system_samples (host, ts_ms);

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    model_name TEXT,
    data TEXT NOT NULL
);
CREATE INDEX alerts_by_time ON alerts (ts_ms);
CREATE INDEX alerts_by_severity_time ON alerts (severity, ts_ms);

CREATE TABLE alert_state (
    fingerprint TEXT PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    data TEXT NOT NULL
);

CREATE TABLE scores (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    model_name TEXT NOT NULL,
    score REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX scores_by_model_time ON scores (model_name, ts_ms);
CREATE INDEX scores_by_time ON scores (ts_ms);

CREATE TABLE lifecycle (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    model_name TEXT NOT NULL,
    change TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX lifecycle_by_time ON lifecycle (ts_ms);

CREATE TABLE health (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    up INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX health_by_time ON health (ts_ms);

CREATE TABLE model_snapshots (
    host TEXT NOT NULL,
    ollama_url TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (host, ollama_url)
);
"""

_ROLLUP_TABLE = """
CREATE TABLE request_rollups (
    resolution_s INTEGER NOT NULL,
    bucket_start_s INTEGER NOT NULL,
    host TEXT NOT NULL,
    model_name TEXT NOT NULL,
    request_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    response_time_sum_ms REAL NOT NULL,
    tokens_per_second_sum REAL NOT NULL,
    tokens_per_second_count INTEGER NOT NULL,
    load_duration_sum_ms REAL NOT NULL,
    cold_start_count INTEGER NOT NULL,
    last_ts_ms INTEGER NOT NULL,
    latency_histogram BLOB NOT NULL,
    ttft_histogram BLOB NOT NULL,
    PRIMARY KEY (resolution_s, bucket_start_s, host, model_name)
) WITHOUT ROWID;
CREATE INDEX rollups_by_model ON request_rollups (resolution_s, model_name, bucket_start_s);
"""

_HOSTS = """
CREATE TABLE hosts (
    host TEXT PRIMARY KEY,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
);
INSERT INTO hosts (host, first_seen_ms, last_seen_ms)
    SELECT host, MIN(first_ms), MAX(last_ms) FROM (
        SELECT host, MIN(bucket_start_s) * 1000 AS first_ms, MAX(last_ts_ms) AS last_ms
            FROM request_rollups GROUP BY host
        UNION ALL SELECT host, MIN(ts_ms), MAX(ts_ms) FROM system_samples GROUP BY host
        UNION ALL SELECT host, MIN(ts_ms), MAX(ts_ms) FROM alerts GROUP BY host
        UNION ALL SELECT host, MIN(ts_ms), MAX(ts_ms) FROM scores GROUP BY host
        UNION ALL SELECT host, MIN(ts_ms), MAX(ts_ms) FROM lifecycle GROUP BY host
        UNION ALL SELECT host, MIN(ts_ms), MAX(ts_ms) FROM health GROUP BY host
        UNION ALL SELECT host, MIN(ts_ms), MAX(ts_ms) FROM model_snapshots GROUP BY host
    ) GROUP BY host;
CREATE INDEX rollups_by_host ON request_rollups (resolution_s, host, bucket_start_s);
CREATE INDEX scores_by_host_model_time ON scores (host, model_name, ts_ms);
CREATE INDEX alerts_by_host_time ON alerts (host, ts_ms);
CREATE INDEX lifecycle_by_host_time ON lifecycle (host, ts_ms);
CREATE INDEX health_by_host_time ON health (host, ts_ms);
"""

# Rows rolled up before version 4 count no queue wait or cold load: their means stay None.
_LOAD_SPLIT_AND_AUDIT = """
ALTER TABLE request_rollups ADD COLUMN queue_wait_sum_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE request_rollups ADD COLUMN queue_wait_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE request_rollups ADD COLUMN cold_load_sum_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE request_rollups ADD COLUMN cold_load_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE alert_audit (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    action TEXT NOT NULL,
    author TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX alert_audit_by_time ON alert_audit (ts_ms);
"""

# Requests only Ollama's server log saw (they bypassed the proxy): the summary counts them
# per host; a partial index keeps that count off the requests the proxy measured.
_BYPASSING = """
CREATE INDEX requests_from_log ON requests (ts_ms, host)
    WHERE json_extract(data, '$.source') = 'log';
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "raw event tables, alert state, latest model snapshots", _RAW_TABLES),
    Migration(
        2,
        "per-minute and per-hour request rollups with histograms",
        _ROLLUP_TABLE,
        backfill=rollup_store.backfill_from_requests,
    ),
    Migration(3, "hosts with their first and last event; indexes by host", _HOSTS),
    Migration(
        4,
        "rollups split load_duration into queue wait and cold load; the alerting audit trail",
        _LOAD_SPLIT_AND_AUDIT,
    ),
    Migration(5, "the notifications' delivery log", delivery_log.SCHEMA),
    Migration(6, "an index of the requests that bypassed the proxy", _BYPASSING),
    Migration(
        7,
        "benchmark runs and their results per model and case",
        benchmark_store.SCHEMA,
        backfill=benchmark_store.create_trigger,
    ),
)
LATEST_VERSION = MIGRATIONS[-1].version


def pending(current_version: int, migrations: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    """The migrations still to apply to a database at `current_version`, in order.

    Raises ValueError when the database is newer than this code, or the list has gaps.
    """
    versions = [migration.version for migration in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration versions must be 1..n without gaps, got {versions}")
    if current_version > len(versions):
        raise ValueError(
            f"database schema version {current_version} is newer than this code "
            f"({len(versions)}); upgrade ollamon"
        )
    return list(migrations[current_version:])


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version stored in the database."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply pending migrations, each in its own transaction; return the versions applied."""
    applied: list[int] = []
    for migration in pending(user_version(conn), migrations):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(migration.sql):
                conn.execute(statement)
            if migration.backfill is not None:
                migration.backfill(conn)
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(migration.version)
    return applied


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating) the SQLite file in WAL mode; transactions are begun explicitly.

    The folder is made 0700 and the file 0600 before SQLite opens it (its -wal and -shm
    files take the file's mode), an existing one tightened likewise.
    """
    private_folder(path.parent)
    private_file(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # an acked event survives power loss too
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def migrate_file(path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Open the database file, apply pending migrations, close it."""
    conn = open_database(path)
    try:
        return migrate(conn, migrations)
    finally:
        conn.close()


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
