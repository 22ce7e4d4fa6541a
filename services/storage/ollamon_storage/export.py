"""Export the history to JSON or CSV, streamed row by row (memory stays flat).

Runs in a worker thread on its own read connection, inside one read transaction, so every
table comes from the same moment while ingest goes on. JSON is one file
`{"format": ..., "tables": {"requests": [...], ...}}`; CSV is one file per table, the
requests table at the requested path and each other table beside it as
`<stem>.<table>.csv`, with one column per event field (lists and objects as JSON). URLs
are redacted once more on the way out (`redact_text`), so rows stored before redaction
existed export without credentials too.

Files are created new (never over an existing one) and private; an export holds at most
`ExportLimits.max_rows` rows and the export folder at most `max_folder_bytes` bytes; an
export that fails or passes a limit on the way removes the files it wrote.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import functools
import json
import os
import sqlite3
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from ollamon_core.events import (
    BenchmarkRun,
    ModelLifecycleEvent,
    ModelScore,
    NotificationDelivery,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
    OllamaPerformanceAlert,
    OllamaSystemMetrics,
)
from ollamon_core.events.queries import ExportFormat
from ollamon_core.redaction import redact_text
from ollamon_storage.paths import open_new_file
from ollamon_storage.rows import COMPACT_TABLES

EXPORT_TABLES: dict[str, type[BaseModel]] = {
    "requests": OllamaModelMetrics,
    "system_samples": OllamaSystemMetrics,
    "alerts": OllamaPerformanceAlert,
    "scores": ModelScore,
    "lifecycle": ModelLifecycleEvent,
    "health": OllamaHealth,
    "model_snapshots": OllamaModelsSnapshot,
    "notification_deliveries": NotificationDelivery,
    "benchmark_runs": BenchmarkRun,
}
FETCH_ROWS = 500


class ExportRefusedError(Exception):
    """An export that cannot be made; `status_code` follows HTTP."""

    status_code = 400


class ExportExistsError(ExportRefusedError):
    """A file of the export exists already (never overwritten)."""

    status_code = 409

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path.name} exists already; choose another name")
        self.path = path


class ExportTooLargeError(ExportRefusedError):
    """The history holds more rows than one export may."""

    status_code = 413


class ExportQuotaError(ExportRefusedError):
    """The export folder is at its quota."""

    status_code = 507


@dataclass(frozen=True)
class ExportLimits:
    """How many rows one export may hold, and how many bytes its folder may."""

    folder: Path
    max_rows: int
    max_folder_bytes: int


@dataclass
class ExportResult:
    """The files written (the main one first) and the rows of each table."""

    files: list[Path] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under `folder` (symlinks not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile
                total += (Path(root) / name).lstat().st_size
    return total


class _Quota:
    """The export folder's quota, checked before an export and after every batch of rows."""

    def __init__(self, limits: ExportLimits | None) -> None:
        self.limit = limits.max_folder_bytes if limits is not None else None
        self.used = folder_bytes(limits.folder) if limits is not None else 0
        self.fd: int | None = None  # the file being written
        self.check()

    def check(self) -> None:
        if self.limit is None:
            return
        writing = os.fstat(self.fd).st_size if self.fd is not None else 0
        if self.used + writing >= self.limit:
            raise ExportQuotaError(
                f"the export folder would pass its quota of {self.limit} bytes "
                f"(OLLAMON_STORAGE_MAX_EXPORT_FOLDER_BYTES): delete older exports first"
            )

    def writing(self, fd: int) -> None:
        self.fd = fd

    def written(self, path: Path) -> None:
        self.fd = None
        self.used += path.stat().st_size


def default_file_name(export_format: ExportFormat, now: datetime | None = None) -> str:
    """`ollamon-export-<UTC stamp>.<format>`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"ollamon-export-{stamp}.{export_format.value}"


def _table_rows(conn: sqlite3.Connection, table: str, quota: _Quota) -> Iterator[str]:
    cursor = conn.execute(f"SELECT data FROM {table} ORDER BY ts_ms")  # noqa: S608 (fixed names)
    full = _full_json(EXPORT_TABLES[table]) if table in COMPACT_TABLES else None
    while rows := cursor.fetchmany(FETCH_ROWS):
        quota.check()
        for row in rows:
            yield redact_text(row[0] if full is None else full(row[0]))


def _full_json(model: type[BaseModel]) -> Callable[[str], str]:
    """Rows stored without their default fields (`COMPACT_TABLES`, nested objects
    included) get them back, in the model's order, so an export holds every field whenever
    the row was written (plain JSON work: validating each row grew memory with pydantic's
    string cache)."""
    fill = _filler(model)

    def full(data: str) -> str:
        return json.dumps(fill(json.loads(data)), separators=(",", ":"), ensure_ascii=False)

    return full


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


def _filler(model: type[BaseModel]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function giving a record every field of `model` (its defaults where missing, and
    the same inside nested models), in the model's order."""
    fields: list[tuple[str, Callable[[], Any], Callable[[Any], Any] | None]] = []
    for name, info in model.model_fields.items():
        if info.default_factory is not None:
            default = cast(Callable[[], Any], info.default_factory)
        else:
            value = None if info.default is PydanticUndefined else info.default
            default = functools.partial(copy.copy, value)
        nested = _nested_model(info.annotation)
        fields.append((name, default, None if nested is None else _filler(nested)))

    def inner(value: Any, fill: Callable[[Any], Any]) -> Any:
        if isinstance(value, list):
            return [inner(item, fill) for item in value]
        return fill(value) if isinstance(value, dict) else value

    def fill(record: dict[str, Any]) -> dict[str, Any]:
        filled = {}
        for name, default, nested in fields:
            value = record[name] if name in record else default()
            filled[name] = value if nested is None else inner(value, nested)
        return filled

    return fill


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return value


def _count_rows(conn: sqlite3.Connection) -> int:
    return sum(
        conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (fixed names)
        for table in EXPORT_TABLES
    )


def _write_json(conn: sqlite3.Connection, out: IO[str], quota: _Quota) -> dict[str, int]:
    counts: dict[str, int] = {}
    stamp = datetime.now(UTC).isoformat()
    out.write(f'{{"format": "ollamon-export", "version": 1, "exported_at": "{stamp}", "tables": {{')
    for table_index, table in enumerate(EXPORT_TABLES):
        out.write(("," if table_index else "") + f'\n"{table}": [')
        count = 0
        for data in _table_rows(conn, table, quota):
            out.write(("," if count else "") + "\n" + data)
            count += 1
        out.write("]")
        counts[table] = count
    out.write("\n}}\n")
    return counts


def _write_csv(conn: sqlite3.Connection, table: str, out: IO[str], quota: _Quota) -> int:
    columns = list(EXPORT_TABLES[table].model_fields)
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for data in _table_rows(conn, table, quota):
        record = json.loads(data)
        writer.writerow([_cell(record.get(column)) for column in columns])
        count += 1
    return count


def csv_path_for(main_path: Path, table: str) -> Path:
    """Where one table's CSV goes: the main path for requests, `<stem>.<table>.csv` beside it."""
    if table == "requests":
        return main_path
    return main_path.with_name(f"{main_path.stem}.{table}.csv")


def export_paths(target: Path, export_format: ExportFormat) -> list[Path]:
    """Every file an export to `target` writes (CSV: one per table, requests at `target`)."""
    if export_format == ExportFormat.JSON:
        return [target]
    return [csv_path_for(target, table) for table in EXPORT_TABLES]


def export_database(
    database_path: Path,
    target: Path,
    export_format: ExportFormat,
    limits: ExportLimits | None = None,
) -> ExportResult:
    """Write the export to new files at `target` (already confined by the caller).

    Blocking: run it in a thread. Nothing is written when a file of the export exists
    (`ExportExistsError`), the history holds more than `limits.max_rows` rows
    (`ExportTooLargeError`) or the folder is at its quota (`ExportQuotaError`); an export
    that passes the quota on the way, or fails, removes the files it wrote.
    """
    paths = export_paths(target, export_format)
    existing = [path for path in paths if os.path.lexists(path)]
    if existing:
        raise ExportExistsError(existing[0])
    quota = _Quota(limits)
    result = ExportResult()
    conn = sqlite3.connect(f"file:{database_path}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("BEGIN")  # one snapshot for every table
        rows = _count_rows(conn)
        if limits is not None and rows > limits.max_rows:
            raise ExportTooLargeError(
                f"the history holds {rows} rows, one export at most {limits.max_rows} "
                f"(OLLAMON_STORAGE_MAX_EXPORT_ROWS): clean up older history first"
            )
        for index, path in enumerate(paths):
            fd = open_new_file(path)  # O_EXCL: the file is ours from here on
            result.files.append(path)
            quota.writing(fd)
            if export_format == ExportFormat.JSON:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    result.row_counts = _write_json(conn, out, quota)
            else:
                table = list(EXPORT_TABLES)[index]
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                    result.row_counts[table] = _write_csv(conn, table, out, quota)
            quota.written(path)
        conn.execute("COMMIT")
    except BaseException:
        for path in result.files:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    finally:
        conn.close()
    return result
