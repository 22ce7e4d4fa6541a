"""No URL credentials in what storage keeps or gives back: rows, the SQLite file, exports,
query replies; not even from rows stored before redaction existed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from ollamon_core.events import (
    Event,
    LifecycleChange,
    ModelLifecycleEvent,
    OllamaHealth,
    OllamaModelsSnapshot,
    utc_now,
)
from ollamon_core.events import queries as q
from ollamon_storage import rows, schema, writer
from ollamon_storage.database import Database
from ollamon_storage.export import export_database
from ollamon_storage.queries import QueryService
from tests.services.storage import factories

PASSWORD = "s3cret-pw"
SECRET_URL = f"http://admin:{PASSWORD}@127.0.0.1:11434"
SHOWN_URL = "http://127.0.0.1:11434"
MARKER = "marker-model:7b"


def leaky_events() -> list[Event]:
    """Events as a probe without redaction would publish them (the password in URLs and text)."""
    now = utc_now()
    return [
        OllamaHealth(
            host="box-1",
            ollama_url=SECRET_URL,
            up=False,
            error_message=f"HTTPStatusError: 401 for url '{SECRET_URL}/api/version?key={PASSWORD}'",
            timestamp=now,
        ),
        OllamaModelsSnapshot(host="box-1", ollama_url=SECRET_URL, timestamp=now),
        ModelLifecycleEvent(
            host="box-1",
            ollama_url=SECRET_URL,
            model_name=MARKER,
            change=LifecycleChange.LOADED,
            timestamp=now,
        ),
        factories.request(
            MARKER, ollama_url=SECRET_URL, error_message=f"could not reach {SECRET_URL}: refused"
        ),
    ]


def file_bytes(database_path: Path) -> bytes:
    """The database file and its write-ahead log, as they are on disk."""
    wal = database_path.with_name(database_path.name + "-wal")
    return database_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_rows_are_stored_with_redacted_urls() -> None:
    batch = rows.group_rows((event, event.model_dump_json()) for event in leaky_events())
    stored = [row for table in batch.inserts.values() for row in table] + batch.snapshots
    assert len(stored) == 4
    assert all(PASSWORD not in str(row) for row in stored)
    assert all(SHOWN_URL in str(row) for row in stored)
    [snapshot] = batch.snapshots
    assert snapshot[1] == SHOWN_URL  # the key column too


async def test_the_database_file_never_holds_the_password(database: Database) -> None:
    batch = rows.group_rows((event, event.model_dump_json()) for event in leaky_events())
    await writer.write_batch(database, batch)
    on_disk = await asyncio.to_thread(file_bytes, database.path)
    assert MARKER.encode() in on_disk  # the search sees what was written
    assert PASSWORD.encode() not in on_disk


def store_raw(database_path: Path) -> None:
    """Rows with the password in their JSON, as a database from before redaction has them."""
    schema.migrate_file(database_path)
    lifecycle = leaky_events()[2]
    conn = sqlite3.connect(database_path)
    try:
        conn.execute(
            "INSERT INTO lifecycle (event_id, ts_ms, host, model_name, change, data) "
            "VALUES (?, ?, 'box-1', ?, 'loaded', ?)",
            (
                lifecycle.event_id,
                rows.timestamp_ms(lifecycle.timestamp),
                MARKER,
                # The event model redacts on construction, so put the secret back by hand.
                lifecycle.model_dump_json().replace(SHOWN_URL, SECRET_URL),
            ),
        )
        conn.commit()
    finally:
        conn.close()


def test_old_rows_export_without_the_password(tmp_path: Path) -> None:
    database_path = tmp_path / "old" / "ollamon.db"
    store_raw(database_path)
    assert PASSWORD.encode() in file_bytes(database_path)  # the leak this test guards against
    export_database(database_path, tmp_path / "out.json", q.ExportFormat.JSON)
    reply = export_database(database_path, tmp_path / "out.csv", q.ExportFormat.CSV)
    texts = [(tmp_path / "out.json").read_text()] + [Path(f).read_text() for f in reply.files]
    assert any(MARKER in text and SHOWN_URL in text for text in texts)
    assert all(PASSWORD not in text for text in texts)


async def test_old_rows_are_answered_without_the_password(tmp_path: Path) -> None:
    database_path = tmp_path / "old" / "ollamon.db"
    await asyncio.to_thread(store_raw, database_path)
    database = await Database.open(database_path)
    try:
        reply = await QueryService(database.reader).lifecycle(q.LifecycleQuery(hours=24))
    finally:
        await database.close()
    [event] = reply.events
    assert (event.model_name, event.ollama_url) == (MARKER, SHOWN_URL)
    assert PASSWORD not in reply.model_dump_json()
