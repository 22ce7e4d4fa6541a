"""The SQLite database of storage: migrated at open, one writer and one reader connection.

WAL mode lets queries read on their own connection while batches commit; every write
transaction goes through `transaction()`, whose lock keeps ingest and cleanup from
interleaving statements on the shared writer connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from ollamon_storage import schema


async def _connect(path: Path, *, read_only: bool) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA busy_timeout=10000")
    if read_only:
        await conn.execute("PRAGMA query_only=ON")
    else:
        await conn.execute("PRAGMA synchronous=FULL")  # an acked event survives power loss
    return conn


class Database:
    """An open, migrated database."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self.writer = writer
        self.reader = reader
        self.write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Create or open the file, apply pending migrations, open both connections."""
        await asyncio.to_thread(schema.migrate_file, path)
        writer = await _connect(path, read_only=False)
        try:
            reader = await _connect(path, read_only=True)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: committed on success, rolled back on any error."""
        async with self.write_lock:
            await self.writer.execute("BEGIN IMMEDIATE")
            try:
                yield self.writer
            except BaseException:
                await self.writer.execute("ROLLBACK")
                raise
            await self.writer.execute("COMMIT")

    async def close(self) -> None:
        """Close both connections."""
        await self.reader.close()
        await self.writer.close()
