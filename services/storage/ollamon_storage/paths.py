"""Files of storage: kept private, kept inside their folders, never overwritten, and named
to the client relative to the storage path (pure path logic plus a few safe file calls).

Folders storage creates or uses are 0700 and files it writes 0600 (the database with its
-wal and -shm, exports, backups): the history says which models ran when, for whom. A
requested path is resolved (`..` collapsed, every symlink followed) and must land strictly
inside its folder; anything else is refused with a message that names paths relative to
the storage path, never the server's absolute ones.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from ollamon_core.events.limits import MAX_FILE_NAME_CHARS

log = logging.getLogger(__name__)

PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class PathRefusedError(ValueError):
    """A requested file path cannot be used; the message names no absolute path."""


class PathOutsideError(PathRefusedError):
    """A requested file would leave its folder."""


class FileNameError(PathRefusedError):
    """A requested file name is too long for the file system."""


def _tighten(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            path.chmod(mode)
    except OSError as error:  # not ours (a shared folder): say so, keep going
        log.warning("could not make %s private (%o): %s", path, mode, error.strerror)


def private_folder(folder: Path) -> None:
    """Create `folder` (and missing parents) with mode 0700, or tighten it to 0700."""
    missing = [folder, *[parent for parent in folder.parents if not parent.exists()]]
    for level in reversed(missing):
        with contextlib.suppress(FileExistsError):
            level.mkdir(mode=PRIVATE_FOLDER_MODE)
    _tighten(folder, PRIVATE_FOLDER_MODE)


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if missing, else tighten it (and SQLite's side files).

    SQLite gives its -wal, -shm and -journal files the mode of the database file, so a
    database created here stays private as it grows.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), PRIVATE_FILE_MODE)
    os.close(fd)
    for candidate in [path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)]:
        if candidate.exists():
            _tighten(candidate, PRIVATE_FILE_MODE)


def shown(path: Path, storage_root: Path) -> str:
    """How a reply or a message names `path`: relative to the storage path (never absolute).

    Both are compared as given (no file system calls): pass the resolved storage path for
    the resolved paths that `confined_path` returns.
    """
    try:
        return path.relative_to(storage_root).as_posix()
    except ValueError:
        return path.name


def confined_path(folder: Path, requested: str | None, default_name: str) -> Path:
    """Resolve `requested` (relative to `folder`, or absolute) and check it stays inside.

    Args:
        folder: The folder files must stay in (created private if missing).
        requested: What the caller asked for; None or blank picks `default_name`.
        default_name: File name used when nothing was requested.

    Raises:
        PathOutsideError: The path leaves the folder (`..`, another absolute path, a
            symlink pointing out) or names the folder itself or a directory.
        FileNameError: A part of the path is longer than `limits.MAX_FILE_NAME_CHARS` bytes.
    """
    private_folder(folder)
    root = folder.resolve()
    text = (requested or "").strip()
    if "\x00" in text:
        raise PathOutsideError("file path contains a NUL byte")
    raw = Path(text) if text else Path(default_name)
    if any(len(part.encode()) > MAX_FILE_NAME_CHARS for part in raw.parts):
        raise FileNameError(
            f"each part of a file path is at most {MAX_FILE_NAME_CHARS} bytes; "
            f"{text[:40]!r}... is longer"
        )
    candidate = raw if raw.is_absolute() else root / raw
    resolved = candidate.resolve()  # follows symlinks in every existing component
    if resolved == root or not resolved.is_relative_to(root):
        raise PathOutsideError(
            f"file path {text!r} resolves outside the folder; give a file name or a relative "
            f"path inside it"
        )
    if resolved.is_dir():
        raise PathOutsideError(f"file path {text!r} names a directory")
    private_folder(resolved.parent)
    return resolved


def open_new_file(path: Path) -> int:
    """Create a file that `confined_path` returned, private; never an existing one.

    Returns an OS file descriptor. `O_EXCL` makes the open fail with `FileExistsError` when
    the file exists (so nothing is overwritten, not even by a race) and refuses a symlink
    swapped in after the check.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags, PRIVATE_FILE_MODE)
