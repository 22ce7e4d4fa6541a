"""The write-side requests: export, cleanup and backup (each answered over NATS).

File work runs in worker threads on separate connections, so ingest and queries go on.
Replies and errors name files relative to the storage path, never by the server's absolute
path. A path that would leave its folder or that the file system cannot take is a 400, a
file that exists already a 409 (exports and backups never overwrite), an export over the
row ceiling a 413 and one over the export folder's quota a 507.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from ollamon_core.bus import QueryFailedError
from ollamon_core.events.queries import (
    BackupReply,
    BackupRequest,
    CleanupReply,
    CleanupRequest,
    ExportChunkReply,
    ExportChunkRequest,
    ExportFormat,
    ExportReply,
    ExportRequest,
    QueryError,
)
from ollamon_storage import export, export_files, maintenance
from ollamon_storage.database import Database
from ollamon_storage.paths import PathRefusedError, confined_path, shown
from ollamon_storage.queries import bad_request
from ollamon_storage.settings import StorageSettings

log = logging.getLogger(__name__)


class Commands:
    """Export, cleanup and backup over one database."""

    def __init__(self, database: Database, settings: StorageSettings) -> None:
        self.database = database
        self.settings = settings
        self.caps = maintenance.RowCaps.from_settings(settings)
        self.export_limits = export.ExportLimits(
            folder=settings.export_path,
            max_rows=settings.max_export_rows,
            max_folder_bytes=settings.max_export_folder_bytes,
        )
        self._cleanup_lock = asyncio.Lock()
        self._export_lock = asyncio.Lock()  # one at a time: the quota counts what is there
        self._storage_root: Path | None = None  # resolved in a thread, at the first command

    def _shown(self, path: Path) -> str:
        return shown(path, self._storage_root or self.settings.storage_path)

    def _confined(self, folder: Path, requested: str | None, default_name: str) -> Path:
        if self._storage_root is None:
            self._storage_root = self.settings.storage_path.resolve()
        return confined_path(folder, requested, default_name)

    def _export_target(self, request: ExportRequest) -> Path:
        folder = self.settings.export_path
        target = self._confined(folder, request.filepath, export.default_file_name(request.format))
        if request.format == ExportFormat.CSV:
            for table in export.EXPORT_TABLES:  # the sibling files must stay inside too
                self._confined(folder, str(export.csv_path_for(target, table)), "unused")
        return target

    async def export(self, request: ExportRequest) -> ExportReply:
        """Stream the history into new files inside the export folder."""
        try:
            target = await asyncio.to_thread(self._export_target, request)
        except PathRefusedError as error:
            raise bad_request(f"export refused: {error}") from error
        except OSError as error:  # a name the file system refuses, say
            raise self._os_error("export", request.filepath, error) from error
        try:
            async with self._export_lock:
                result = await asyncio.to_thread(
                    export.export_database,
                    self.database.path,
                    target,
                    request.format,
                    self.export_limits,
                )
        except export.ExportExistsError as error:
            shown_path = self._shown(error.path)
            raise _refused(f"export refused: {shown_path} exists already", 409) from error
        except export.ExportRefusedError as error:
            raise _refused(f"export refused: {error}", error.status_code) from error
        except FileExistsError as error:  # created between the check and the open
            raise _refused(f"export refused: {self._shown(target)} exists already", 409) from error
        except OSError as error:  # e.g. a symlink swapped in after the check
            raise self._os_error("export", request.filepath, error) from error
        return ExportReply(
            path=self._shown(result.files[0]),
            row_counts=result.row_counts,
            files=[self._shown(path) for path in result.files],
        )

    async def export_chunk(self, request: ExportChunkRequest) -> ExportChunkReply:
        """A chunk of an export file, for the gateway to stream (only the export folder)."""
        if self._storage_root is None:
            self._storage_root = await asyncio.to_thread(self.settings.storage_path.resolve)
        try:
            file = await asyncio.to_thread(
                export_files.export_file,
                self._storage_root,
                self.settings.export_path,
                request.path,
            )
            chunk = await asyncio.to_thread(
                export_files.read_chunk, file, request.offset, request.length
            )
        except export_files.ExportFileError as error:
            raise _refused(str(error), error.status_code) from error
        except OSError as error:
            log.warning("reading export %r failed: %r", request.path, error)
            raise _refused(f"cannot read export {request.path!r}: {error.strerror}", 500) from error
        return ExportChunkReply(size=chunk.size, offset=request.offset, data=chunk.data)

    def _os_error(self, what: str, requested: str | None, error: OSError) -> QueryFailedError:
        # The message of an OSError names the absolute path: say what failed without it.
        log.warning("%s to %r failed: %r", what, requested, error)
        reason = error.strerror or type(error).__name__
        return bad_request(f"{what} refused: cannot write {requested or 'the file'!r}: {reason}")

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
        """A consistent online copy of the database, in a new file of the backup folder."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        try:
            target = await asyncio.to_thread(
                self._confined, self.settings.backup_path, request.filepath, f"ollamon-{stamp}.db"
            )
        except PathRefusedError as error:
            raise bad_request(f"backup refused: {error}") from error
        except OSError as error:
            raise self._os_error("backup", request.filepath, error) from error
        try:
            size_bytes = await asyncio.to_thread(
                maintenance.backup_database, self.database.path, target
            )
        except FileExistsError as error:
            raise _refused(f"backup refused: {self._shown(target)} exists already", 409) from error
        except OSError as error:
            raise self._os_error("backup", request.filepath, error) from error
        return BackupReply(path=self._shown(target), size_bytes=size_bytes)


def _refused(reason: str, status_code: int) -> QueryFailedError:
    return QueryFailedError(QueryError(error=reason, status_code=status_code))


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
