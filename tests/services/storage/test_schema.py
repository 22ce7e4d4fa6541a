"""Schema migrations: the pure plan and applying it to real files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ollamon_storage import schema
from ollamon_storage.schema import MIGRATIONS, Migration, migrate, migrate_file, pending
from tests.services.storage import factories


def test_a_new_database_gets_every_migration_in_order() -> None:
    assert [m.version for m in pending(0)] == [m.version for m in MIGRATIONS]
    assert pending(schema.LATEST_VERSION) == []


def test_a_database_newer_than_the_code_is_refused() -> None:
    with pytest.raises(ValueError, match="newer than this code"):
        pending(schema.LATEST_VERSION + 1)


def test_a_migration_list_with_gaps_is_refused() -> None:
    with pytest.raises(ValueError, match="without gaps"):
        pending(0, [Migration(1, "a", ""), Migration(3, "c", "")])


def test_migrating_a_fresh_file_sets_the_latest_user_version(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    assert migrate_file(path) == [m.version for m in MIGRATIONS]
    assert migrate_file(path) == []  # idempotent
    conn = sqlite3.connect(path)
    try:
        assert schema.user_version(conn) == schema.LATEST_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_version_1_database_is_migrated_with_its_requests_rolled_up(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = schema.open_database(path)
    migrate(conn, MIGRATIONS[:1])
    assert schema.user_version(conn) == 1
    events = [factories.request(response_time_ms=float(10 * (index + 1))) for index in range(30)]
    conn.executemany(
        "INSERT INTO requests (event_id, ts_ms, host, model_name, response_time_ms, "
        "time_to_first_token_ms, tokens_per_second, load_duration_ms, error_occurred, "
        "cold_start, data) VALUES (?, ?, ?, ?, ?, NULL, NULL, 0, 0, 0, ?)",
        [
            (
                event.event_id,
                int(event.timestamp.timestamp() * 1000),
                event.host,
                event.model_name,
                event.response_time_ms,
                event.model_dump_json(),
            )
            for event in events
        ],
    )
    conn.close()

    assert migrate_file(path) == [m.version for m in MIGRATIONS[1:]]
    conn = sqlite3.connect(path)
    try:
        assert schema.user_version(conn) == schema.LATEST_VERSION
        assert conn.execute("SELECT host FROM hosts").fetchall() == [("box-1",)]
        assert conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 30
        minute_total, time_sum = conn.execute(
            "SELECT SUM(request_count), SUM(response_time_sum_ms) FROM request_rollups "
            "WHERE resolution_s = 60"
        ).fetchone()
        hour_total = conn.execute(
            "SELECT SUM(request_count) FROM request_rollups WHERE resolution_s = 3600"
        ).fetchone()[0]
        stored = json.loads(conn.execute("SELECT data FROM requests LIMIT 1").fetchone()[0])
    finally:
        conn.close()
    assert minute_total == hour_total == 30
    assert time_sum == sum(event.response_time_ms for event in events)
    assert stored["model_name"] == "llama3.2:1b"


def test_a_failing_migration_rolls_back_and_keeps_the_version(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    broken = (*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "bad", "CREATE TABLE requests (x)"))
    with pytest.raises(sqlite3.OperationalError):
        migrate_file(path, broken)
    conn = sqlite3.connect(path)
    try:
        assert schema.user_version(conn) == schema.LATEST_VERSION
    finally:
        conn.close()


def test_a_version_3_database_gains_the_load_split_and_the_audit_table(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    conn = schema.open_database(path)
    migrate(conn, MIGRATIONS[:3])
    conn.execute(
        "INSERT INTO request_rollups VALUES (60, 0, 'box-1', 'm', 4, 0, 400.0, 0, 0, 90.0, 1, 0,"
        " x'', x'')"
    )
    conn.close()

    assert migrate_file(path)[0] == 4
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(
            "SELECT request_count, load_duration_sum_ms, queue_wait_sum_ms, queue_wait_count,"
            " cold_load_sum_ms, cold_load_count FROM request_rollups"
        ).fetchone()
        audit_rows = conn.execute("SELECT COUNT(*) FROM alert_audit").fetchone()[0]
    finally:
        conn.close()
    assert row == (4, 90.0, 0.0, 0, 0.0, 0)  # older rollups: no split, their means stay None
    assert audit_rows == 0
