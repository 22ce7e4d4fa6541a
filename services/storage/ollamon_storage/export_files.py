"""Reading back an export storage wrote, a chunk at a time, for the gateway to stream.

The gateway need not share storage's disk (compose gives storage its own volume, and in a
fleet the gateway may run on another machine), so storage sends the file over NATS in
bounded chunks. Only a regular file inside the export folder is read: the path is resolved
(`..` collapsed, symlinks followed) and must land in the folder, and the file is opened
without following a symlink swapped in after the check.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path


class ExportFileError(Exception):
    """An export file that cannot be read back; `status_code` follows HTTP."""

    status_code = 404


class ExportFileOutsideError(ExportFileError):
    """The path leaves the export folder."""

    status_code = 400


@dataclass(frozen=True)
class ExportChunk:
    """The bytes read and the file's size when they were read."""

    size: int
    data: bytes


def export_file(storage_root: Path, export_folder: Path, path: str) -> Path:
    """The export file `path` (relative to the storage path, as replies name it) names.

    Raises:
        ExportFileOutsideError: The path leaves the export folder.
        ExportFileError: No regular file is there.
    """
    folder = export_folder.resolve()
    candidate = (storage_root / path).resolve()
    if candidate == folder or not candidate.is_relative_to(folder):
        raise ExportFileOutsideError(f"{path!r} is not a file of the export folder")
    if not candidate.is_file():
        raise ExportFileError(f"no export {path!r}")
    return candidate


def read_chunk(file: Path, offset: int, length: int) -> ExportChunk:
    """Up to `length` bytes of `file` at `offset` (blocking: run it in a thread)."""
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError as error:
        raise ExportFileError(f"no export {file.name!r}") from error
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ExportFileError(f"no export {file.name!r}")
        return ExportChunk(size=info.st_size, data=os.pread(fd, length, offset))
    finally:
        os.close(fd)
