"""The log follower reads what is appended, whole lines only, across rotation, truncation
and a file that is missing for a while, like `tail -F`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from ollamon_probe.log_follow import (
    FileFollower,
    file_lines,
    journal_lines,
)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(text)


def test_it_starts_at_the_end_and_reads_only_whole_new_lines(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("old line, written before the probe started\n")
    follower = FileFollower(str(log))
    assert follower.read_new() == []
    append(log, "first\nsecond, half")
    assert follower.read_new() == ["first"]
    append(log, " and the rest\n")
    assert follower.read_new() == ["second, half and the rest"]
    follower.close()


def test_a_missing_file_is_waited_for_and_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    follower = FileFollower(str(log))
    assert follower.read_new() == []
    append(log, "written once it existed\n")
    assert follower.read_new() == ["written once it existed"]
    follower.close()


def test_a_rotated_file_is_read_to_its_end_then_the_new_one_from_its_start(
    tmp_path: Path,
) -> None:
    log = tmp_path / "server.log"
    log.write_text("")
    follower = FileFollower(str(log))
    follower.read_new()
    append(log, "before rotation\n")
    log.rename(tmp_path / "server-1.log")
    append(tmp_path / "server-1.log", "late line of the old file\n")
    assert follower.read_new() == ["before rotation", "late line of the old file"]
    append(log, "in the new file\n")
    assert follower.read_new() == ["in the new file"]
    assert follower.rotations == 1
    follower.close()


def test_a_truncated_file_is_read_again_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("")
    follower = FileFollower(str(log))
    follower.read_new()
    append(log, "a long line before truncation\n")
    assert follower.read_new() == ["a long line before truncation"]
    log.write_text("after\n")  # truncated and rewritten, shorter than before
    assert follower.read_new() == ["after"]
    assert follower.truncations == 1
    follower.close()


async def test_file_lines_yields_batches_off_the_event_loop(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    batches = file_lines(str(log), poll_seconds=0.01)
    assert await anext(batches) == []
    await asyncio.to_thread(append, log, "one\ntwo\n")
    seen: list[str] = []
    while len(seen) < 2:
        seen += await anext(batches)
    assert seen == ["one", "two"]
    await batches.aclose()  # type: ignore[attr-defined]  # an async generator


@pytest.fixture
def fake_journalctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A journalctl of our own first on the PATH: it notes its arguments, prints what
    `-o cat` would, then waits."""
    fake = tmp_path / "journalctl"
    fake.write_text(
        "#!/bin/sh\n"
        'echo "$@" > "$(dirname "$0")/args"\n'
        "echo '[GIN] 2025/02/04 - 16:56:25 | 200 |  1.2s |  10.0.0.7 | POST     \"/api/chat\"'\n"
        "exec sleep 30\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    return tmp_path / "args"


async def test_the_journald_unit_is_followed_through_journalctl(fake_journalctl: Path) -> None:
    batches = journal_lines("ollama", poll_seconds=0.05)
    seen: list[str] = []
    while not seen:
        seen += await anext(batches)
    await batches.aclose()  # type: ignore[attr-defined]  # an async generator: ends journalctl
    assert seen[0].startswith("[GIN] 2025/02/04 - 16:56:25 | 200 |")
    args = await asyncio.to_thread(fake_journalctl.read_text)
    assert args.split() == ["-f", "-o", "cat", "-n", "0", "-u", "ollama"]


async def test_without_journalctl_the_unit_gives_nothing_and_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    assert [batch async for batch in journal_lines("ollama", poll_seconds=0.05)] == []
