"""Follow a log file as `tail -F` does: rotation, truncation and a missing file handled.

`FileFollower.read_new` is synchronous (file I/O): callers run it in a thread. It starts at
the file's end (a restart does not replay old requests as new ones), reads whole lines
only, and:

- a missing file is waited for (nothing read, no error); one that appears later is read
  from its start;
- a rotated file (the path now names another inode) is read to its end, then the new
  file from its start;
- a truncated file (smaller than the offset read) is read again from its start.

`journal_lines` follows the journald unit instead, through `journalctl -f -o cat`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

MAX_READ_BYTES = 1024 * 1024
MAX_LINE_BYTES = 64 * 1024


class FileFollower:
    """The new complete lines of one log file on each call."""

    def __init__(self, path: str, *, from_start: bool = False) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._inode: int | None = None
        self._partial = b""
        self._from_start = from_start
        self._first_call = True
        self.rotations = 0
        self.truncations = 0

    def close(self) -> None:
        """Close the file followed."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self, *, at_end: bool) -> bool:
        try:
            file = Path(self.path).open("rb")  # noqa: SIM115 (kept open between calls)
        except OSError:
            return False
        self._file = file
        self._inode = os.fstat(file.fileno()).st_ino
        self._partial = b""
        if at_end:
            file.seek(0, os.SEEK_END)
        return True

    def read_new(self) -> list[str]:
        """The complete lines written since the last call."""
        if self._file is None:
            first, self._first_call = self._first_call, False
            if not self._open(at_end=first and not self._from_start):
                return []
        assert self._file is not None
        lines = self._read_lines()
        try:
            status = Path(self.path).stat()
        except OSError:
            return lines  # rotated away, the new file not there yet: keep the old one
        if status.st_ino != self._inode:
            lines += self._read_lines()  # the rest of the rotated file
            if self._partial:
                lines.append(self._partial.decode("utf-8", "replace"))
            self.close()
            self.rotations += 1
            if self._open(at_end=False):
                lines += self._read_lines()
        elif status.st_size < self._file.tell():
            self.truncations += 1
            self._file.seek(0)
            self._partial = b""
            lines += self._read_lines()
        return lines

    def _read_lines(self) -> list[str]:
        assert self._file is not None
        data = self._file.read(MAX_READ_BYTES)
        if not data:
            return []
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        if len(self._partial) > MAX_LINE_BYTES:
            self._partial = b""  # a line this long is no log line of Ollama's
        return [line.decode("utf-8", "replace") for line in complete]


async def file_lines(path: str, poll_seconds: float) -> AsyncIterator[list[str]]:
    """Batches of new lines of `path` (an empty batch when the file was quiet)."""
    follower = FileFollower(path)
    try:
        while True:
            yield await asyncio.to_thread(follower.read_new)
            await asyncio.sleep(poll_seconds)
    finally:
        follower.close()


async def journal_lines(unit: str, poll_seconds: float) -> AsyncIterator[list[str]]:
    """Batches of new lines of the journald unit (`journalctl -f -o cat -n 0 -u UNIT`);
    none where there is no journalctl (said once in the log)."""
    try:
        process = await asyncio.create_subprocess_exec(
            "journalctl", "-f", "-o", "cat", "-n", "0", "-u", unit,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
    except FileNotFoundError:
        log.warning("no journalctl here: the unit %s is not followed", unit)
        return
    assert process.stdout is not None
    try:
        while True:
            try:
                line = await asyncio.wait_for(process.stdout.readline(), poll_seconds)
            except TimeoutError:
                yield []
                continue
            if not line:
                return
            yield [line.decode("utf-8", "replace")]
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
