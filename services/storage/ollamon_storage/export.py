"""Export the history to JSON or CSV, streamed row by row (memory stays flat).

Runs in a worker thread on its own read connection, inside one read transaction, so every
table comes from the same moment while ingest goes on. JSON is one file
`{"format": ..., "tables": {"requests": [...], ...}}`; CSV is one file per table, the
requests table at the requested path and each other table beside it as
`<stem>.<table>.csv`, with one column per event field (lists and objects as JSON). URLs
are redacted once more on the way out (`redact_text`), so rows stored before redaction
existed export without credentials too.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from ollamon_core.events import (
    ModelLifecycleEvent,
    ModelScore,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
)
from ollamon_core.events.queries import ExportFormat, ExportReply
from ollamon_core.redaction import redact_text
from ollamon_storage.paths import open_for_write

EXPORT_TABLES: dict[str, type[BaseModel]] = {
    "requests": OllamaModelMetrics,
    "system_samples": OllamaSystemMetrics,
    "alerts": OllamaPerformanceAlert,
    "scores": ModelScore,
    "lifecycle": ModelLifecycleEvent,
    "health": OllamaHealth,
    "model_snapshots": OllamaModelsSnapshot,
}
FETCH_ROWS = 500


def default_file_name(export_format: ExportFormat, now: datetime | None = None) -> str:
    """`ollamon-export-<UTC stamp>.<format>`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"ollamon-export-{stamp}.{export_format.value}"


def _table_rows(conn: sqlite3.Connection, table: str) -> Iterator[str]:
    cursor = conn.execute(f"SELECT data FROM {table} ORDER BY ts_ms")  # noqa: S608 (fixed names)
    while rows := cursor.fetchmany(FETCH_ROWS):
        for row in rows:
            yield redact_text(row[0])


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return value


def _write_json(conn: sqlite3.Connection, out: IO[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    stamp = datetime.now(UTC).isoformat()
    out.write(f'{{"format": "ollamon-export", "version": 1, "exported_at": "{stamp}", "tables": {{')
    for table_index, table in enumerate(EXPORT_TABLES):
        out.write(("," if table_index else "") + f'\n"{table}": [')
        count = 0
        for data in _table_rows(conn, table):
            out.write(("," if count else "") + "\n" + data)
            count += 1
        out.write("]")
        counts[table] = count
    out.write("\n}}\n")
    return counts


def _write_csv(conn: sqlite3.Connection, table: str, out: IO[str]) -> int:
    columns = list(EXPORT_TABLES[table].model_fields)
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for data in _table_rows(conn, table):
        record = json.loads(data)
        writer.writerow([_cell(record.get(column)) for column in columns])
        count += 1
    return count


def csv_path_for(main_path: Path, table: str) -> Path:
    """Where one table's CSV goes: the main path for requests, `<stem>.<table>.csv` beside it."""
    if table == "requests":
        return main_path
    return main_path.with_name(f"{main_path.stem}.{table}.csv")


def export_database(database_path: Path, target: Path, export_format: ExportFormat) -> ExportReply:
    """Write the export to `target` (already confined by the caller); blocking, run in a thread."""
    conn = sqlite3.connect(f"file:{database_path}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("BEGIN")  # one snapshot for every table
        if export_format == ExportFormat.JSON:
            with os.fdopen(open_for_write(target), "w", encoding="utf-8") as out:
                counts = _write_json(conn, out)
            files = [str(target)]
        else:
            counts, files = {}, []
            for table in EXPORT_TABLES:
                path = csv_path_for(target, table)
                with os.fdopen(open_for_write(path), "w", encoding="utf-8", newline="") as out:
                    counts[table] = _write_csv(conn, table, out)
                files.append(str(path))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return ExportReply(path=str(target), row_counts=counts, files=files)
