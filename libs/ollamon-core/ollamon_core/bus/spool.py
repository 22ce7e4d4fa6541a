"""The disk spool: events the outbox could not get acknowledged, kept on disk in order.

One SQLite file in WAL mode per service (decision 0009), used from one worker thread of
its own so the event loop never waits on the disk. Each row is an event's subject, JSON
body and `event_id`, numbered in the order it was spooled; replay publishes the rows in
that order with the same `event_id` (JetStream's duplicate window and storage's
idempotent insert make a replay of an event already stored harmless).

Bounded by bytes: when an event does not fit, the oldest event of the lowest priority goes
first (system samples, then anything else, requests last); an event of lower priority than
everything spooled is dropped itself. Every drop is counted.

A commit is written to the WAL file before `append` returns (`synchronous=NORMAL`: the
write is in the kernel, so a killed process loses nothing; fsync at checkpoints only, so a
power cut may lose the last commits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TypeVar

from ollamon_core import subjects
from ollamon_core.bus.wire import encode
from ollamon_core.events import Event

log = logging.getLogger(__name__)

T = TypeVar("T")

SPOOL_FILE = "spool.sqlite3"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
ROW_OVERHEAD_BYTES = 64  # subject, id and bookkeeping of a row, roughly
SPOOL_COUNTERS = (
    "spooled",
    "spool_replayed",
    "spool_dropped",
    "spool_dropped_requests",
    "spool_events",
    "spool_bytes",
)
DROP_LOG_EVERY = 1000  # the first drop is logged, then one line per this many

SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    spooled_at REAL NOT NULL,
    event_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS spool_by_priority ON spool (priority, seq);
"""


class Priority(IntEnum):
    """What goes first when the spool is full: the lowest, oldest first."""

    SYSTEM = 0
    OTHER = 1
    REQUEST = 2


def priority_of(subject: str) -> Priority:
    """System samples go first, requests last."""
    if subject == subjects.SYSTEM:
        return Priority.SYSTEM
    if subjects.subject_matches(subjects.REQUESTS_ALL, subject):
        return Priority.REQUEST
    return Priority.OTHER


@dataclass(frozen=True)
class SpoolConfig:
    """Where a service's spool lives and how big it may grow (0 bytes: no spool)."""

    folder: Path
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class SpooledEvent:
    """One row: replayed as is, with its event id as JetStream's message id."""

    seq: int
    event_id: str
    subject: str
    body: bytes


def _row_bytes(body: bytes) -> int:
    return len(body) + ROW_OVERHEAD_BYTES


class Spool:
    """A bounded, ordered, on-disk queue of events (see the module's docstring).

    Counters (in the bus's `counters`, so in heartbeats): `spooled`, `spool_replayed`,
    `spool_dropped` (and `spool_dropped_requests`), and the gauges `spool_events` and
    `spool_bytes`; `oldest_age_seconds()` gives the age of the oldest event.
    """

    def __init__(self, config: SpoolConfig, counters: Counter[str]) -> None:
        self.config = config
        self.path = config.folder / SPOOL_FILE
        self.counters = counters
        for name in SPOOL_COUNTERS:  # every key made here: the thread then only updates them,
            counters.setdefault(name, 0)  # so a heartbeat never iterates while a key appears
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._db: sqlite3.Connection | None = None
        self._events = 0
        self._bytes = 0
        self._oldest_at: float | None = None
        self._queued: deque[tuple[str, bytes, str]] = deque()  # rows not committed yet
        self.holding = asyncio.Event()  # set while the spool holds any event

    @classmethod
    async def open(cls, config: SpoolConfig, counters: Counter[str]) -> Spool:
        """Open (creating the 0700 folder and 0600 file) and count what a previous process
        left."""
        spool = cls(config, counters)
        await spool._run(spool._open)
        if spool._events:
            log.warning(
                "spool holds %d events (%d bytes) from before; replaying them once NATS answers",
                spool._events,
                spool._bytes,
            )
        return spool

    @property
    def events(self) -> int:
        """Events spooled and not yet replayed."""
        return self._events

    @property
    def size_bytes(self) -> int:
        """Their size, as the bound counts it."""
        return self._bytes

    def oldest_age_seconds(self, now: float | None = None) -> float:
        """Seconds since the oldest event still spooled was spooled (0 when empty)."""
        if self._oldest_at is None:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - self._oldest_at)

    async def append(self, events: Sequence[Event]) -> None:
        """Spool `events` in order; returns once the commit is in the WAL file.

        Appends made while the spool's thread is busy are committed together: each call
        queues its rows, then waits for a commit of everything queued so far (the thread
        runs calls in order, so once this call's turn is over its rows are in).
        """
        self._queued.extend(
            (subjects.subject_for(event), encode(event), event.event_id) for event in events
        )
        await self._run(self._append_queued)

    async def oldest(self, limit: int) -> list[SpooledEvent]:
        """The first `limit` events in spooling order."""
        return await self._run(lambda: self._oldest(limit))

    async def remove(self, seqs: list[int]) -> None:
        """Forget events replayed (acknowledged by the stream)."""
        if seqs:
            await self._run(lambda: self._remove(seqs))
            self.counters["spool_replayed"] += len(seqs)

    async def close(self) -> None:
        """Close the file and the worker thread."""
        with contextlib.suppress(RuntimeError):
            await self._run(self._close)
        self._executor.shutdown(wait=False)

    # In the spool's thread ----------------------------------------------------------------

    async def _run(self, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        finally:  # asyncio.Event is not thread-safe: set on the loop, after the call
            if self._events:
                self.holding.set()
            else:
                self.holding.clear()

    def _open(self) -> None:
        self.config.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.config.folder.chmod(0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        self.path.chmod(0o600)  # SQLite gives its -wal and -shm files the same mode
        try:
            self._db = self._connect()
            self._refresh()
        except sqlite3.DatabaseError as error:  # not a database: keep it aside, start afresh
            if self._db is not None:
                self._db.close()
            aside = self.path.with_name(f"{SPOOL_FILE}.unreadable-{int(time.time())}")
            log.error("spool %s is unreadable (%s); moved to %s", self.path, error, aside.name)
            self.path.rename(aside)
            for suffix in ("-wal", "-shm"):
                self.path.with_name(SPOOL_FILE + suffix).unlink(missing_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            self._db = self._connect()
            self._refresh()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        return db

    def _refresh(self) -> None:
        assert self._db is not None
        count, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM spool"
        ).fetchone()
        self._events = int(count)
        self._bytes = int(size) + self._events * ROW_OVERHEAD_BYTES
        self._update_gauges()

    def _update_gauges(self) -> None:
        """The oldest row and the counters, from the running totals (a full count is for
        opening only: it reads every row)."""
        assert self._db is not None
        first = self._db.execute("SELECT spooled_at FROM spool ORDER BY seq LIMIT 1").fetchone()
        self._oldest_at = float(first[0]) if first else None
        self.counters["spool_events"] = self._events
        self.counters["spool_bytes"] = self._bytes

    def _append_queued(self) -> None:
        rows = []
        while self._queued:
            rows.append(self._queued.popleft())
        if rows:
            self._append(rows)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; on failure the running totals are read again from the
        file (they were changed row by row inside it), on success the gauges follow."""
        db = self._db
        assert db is not None
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._refresh()
            raise
        self._update_gauges()

    def _append(self, rows: list[tuple[str, bytes, str]]) -> None:
        now = time.time()
        with self._transaction() as db:
            for subject, body, event_id in rows:
                priority = priority_of(subject)
                if not self._make_room(_row_bytes(body), priority):
                    self._count_drop(priority, 1)
                    continue
                db.execute(
                    "INSERT INTO spool (priority, spooled_at, event_id, subject, body)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (int(priority), now, event_id, subject, body),
                )
                self._events += 1
                self._bytes += _row_bytes(body)
                self.counters["spooled"] += 1

    def _make_room(self, needed: int, priority: Priority) -> bool:
        """Drop the oldest events of the lowest priority until `needed` fits; False when
        the event itself is the one to drop (or can never fit)."""
        db = self._db
        assert db is not None
        if needed > self.config.max_bytes:
            return False
        while self._bytes + needed > self.config.max_bytes:
            victims = db.execute(
                "SELECT seq, priority, LENGTH(body) FROM spool ORDER BY priority, seq LIMIT 256"
            ).fetchall()
            if not victims or victims[0][1] > priority:
                return False
            dropped: list[int] = []
            for seq, victim_priority, size in victims:
                if self._bytes + needed <= self.config.max_bytes or victim_priority > priority:
                    break
                dropped.append(seq)
                self._bytes -= _row_bytes(b"") + int(size)
                self._events -= 1
                self._count_drop(Priority(victim_priority), 1)
            db.executemany("DELETE FROM spool WHERE seq = ?", [(seq,) for seq in dropped])
        return True

    def _count_drop(self, priority: Priority, count: int) -> None:
        self.counters["spool_dropped"] += count
        if priority is Priority.REQUEST:
            self.counters["spool_dropped_requests"] += count
        dropped = self.counters["spool_dropped"]
        if dropped == count or dropped // DROP_LOG_EVERY != (dropped - count) // DROP_LOG_EVERY:
            log.error(
                "spool full (%d bytes): dropped %s events so far, the latest %s",
                self.config.max_bytes,
                dropped,
                priority.name,
            )

    def _oldest(self, limit: int) -> list[SpooledEvent]:
        assert self._db is not None
        rows = self._db.execute(
            "SELECT seq, event_id, subject, body FROM spool ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [
            SpooledEvent(int(seq), str(eid), str(subj), bytes(body))
            for seq, eid, subj, body in rows
        ]

    def _remove(self, seqs: list[int]) -> None:
        with self._transaction() as db:
            for seq in seqs:
                row = db.execute("SELECT LENGTH(body) FROM spool WHERE seq = ?", (seq,)).fetchone()
                if row is not None:
                    db.execute("DELETE FROM spool WHERE seq = ?", (seq,))
                    self._events -= 1
                    self._bytes -= _row_bytes(b"") + int(row[0])

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
