"""Keeping export and backup files inside their folders (pure path logic plus a safe open).

A requested path is resolved (`..` collapsed, every symlink followed) and must land strictly
inside the folder; anything else is refused with a message that says which folder.
"""

from __future__ import annotations

import os
from pathlib import Path


class PathOutsideError(ValueError):
    """A requested file would leave its folder."""


def confined_path(folder: Path, requested: str | None, default_name: str) -> Path:
    """Resolve `requested` (relative to `folder`, or absolute) and check it stays inside.

    Args:
        folder: The folder files must stay in (created if missing).
        requested: What the caller asked for; None or blank picks `default_name`.
        default_name: File name used when nothing was requested.

    Raises:
        PathOutsideError: The path leaves the folder (`..`, another absolute path, a
            symlink pointing out) or names the folder itself or a directory.
    """
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    text = (requested or "").strip()
    if "\x00" in text:
        raise PathOutsideError("file path contains a NUL byte")
    raw = Path(text) if text else Path(default_name)
    candidate = raw if raw.is_absolute() else root / raw
    resolved = candidate.resolve()  # follows symlinks in every existing component
    if resolved == root or not resolved.is_relative_to(root):
        raise PathOutsideError(
            f"file path {text!r} resolves outside the folder {root}; give a file name or "
            f"a relative path inside it"
        )
    if resolved.is_dir():
        raise PathOutsideError(f"file path {text!r} names a directory")
    resolved.parent.mkdir(parents=True, exist_ok=True)
    return resolved


def open_for_write(path: Path, *, binary: bool = False) -> int:
    """Open (truncating) a file that `confined_path` returned, refusing a symlink swapped in.

    Returns an OS file descriptor; `O_NOFOLLOW` makes the open fail if the last component
    became a symlink after the check.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    if binary and hasattr(os, "O_BINARY"):
        flags |= os.O_BINARY
    return os.open(path, flags, 0o640)
