"""The write-side requests: export, cleanup and backup (each answered over NATS).

File work runs in worker threads on separate connections, so ingest and queries go on.
A path that would leave its folder is answered with a 400 QueryError naming the folder.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from ollamon_core.events.queries import (
    BackupReply,
    BackupRequest,
    CleanupReply,
    CleanupRequest,
    ExportFormat,
    ExportReply,
    ExportRequest,
)
from ollamon_storage import export, maintenance
from ollamon_storage.database import Database
from ollamon_storage.paths import PathOutsideError, confined_path
from ollamon_storage.queries import bad_request
from ollamon_storage.settings import StorageSettings

log = logging.getLogger(__name__)


class Commands:
    """Export, cleanup and backup over one database."""

    def __init__(self, database: Database, settings: StorageSettings) -> None:
        self.database = database
        self.settings = settings
        self.caps = maintenance.RowCaps.from_settings(settings)
        self._cleanup_lock = asyncio.Lock()

    def _export_target(self, request: ExportRequest) -> Path:
        folder = self.settings.export_path
        target = confined_path(folder, request.filepath, export.default_file_name(request.format))
        if request.format == ExportFormat.CSV:
            for table in export.EXPORT_TABLES:  # the sibling files must stay inside too
                confined_path(folder, str(export.csv_path_for(target, table)), "unused")
        return target

    async def export(self, request: ExportRequest) -> ExportReply:
        """Stream the history into a file inside the export folder."""
        try:
            target = await asyncio.to_thread(self._export_target, request)
        except PathOutsideError as error:
            raise bad_request(f"export refused: {error}") from error
        try:
            return await asyncio.to_thread(
                export.export_database, self.database.path, target, request.format
            )
        except OSError as error:  # e.g. a symlink swapped in after the check
            raise bad_request(f"export refused: cannot write {target}: {error}") from error

    async def cleanup(self, request: CleanupRequest) -> CleanupReply:
        """Delete history older than `days_to_keep`, then apply the row caps."""
        async with self._cleanup_lock:
            deleted = await maintenance.cleanup(self.database, request.days_to_keep, self.caps)
        return CleanupReply(deleted=deleted)

    async def scheduled_cleanup(self) -> dict[str, int]:
        """The periodic cleanup with the configured retention."""
        return (
            await self.cleanup(CleanupRequest(days_to_keep=self.settings.retention_days))
        ).deleted

    async def backup(self, request: BackupRequest) -> BackupReply:
        """A consistent online copy of the database inside the backup folder."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        try:
            target = await asyncio.to_thread(
                confined_path, self.settings.backup_path, request.filepath, f"ollamon-{stamp}.db"
            )
        except PathOutsideError as error:
            raise bad_request(f"backup refused: {error}") from error
        size_bytes = await asyncio.to_thread(
            maintenance.backup_database, self.database.path, target
        )
        return BackupReply(path=str(target), size_bytes=size_bytes)


async def cleanup_loop(commands: Commands, interval_seconds: float) -> None:
    """Run the scheduled cleanup every `interval_seconds` (first one at start), until cancelled."""
    while True:
        started = time.monotonic()
        try:
            deleted = await commands.scheduled_cleanup()
            if any(deleted.values()):
                log.info("cleanup deleted %s", {k: v for k, v in deleted.items() if v})
        except Exception:
            log.exception("scheduled cleanup failed")
        await asyncio.sleep(max(0.0, interval_seconds - (time.monotonic() - started)))
