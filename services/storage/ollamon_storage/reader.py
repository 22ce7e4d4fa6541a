"""Reading rows and stored events on storage's read-only connection (the queries' base).

Stored JSON is read through `redact_text`, so no reply holds a URL's credentials (not even
from rows stored before redaction existed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import aiosqlite
from pydantic import BaseModel

from ollamon_core.redaction import redact_text

ModelT = TypeVar("ModelT", bound=BaseModel)


def where_equal(sql: str, conditions: Sequence[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """`sql` with `AND column = ?` for each (column, value) whose value is not None."""
    parameters: list[Any] = []
    for column, value in conditions:
        if value is not None:
            sql += f" AND {column} = ?"
            parameters.append(value)
    return sql, parameters


class Reader:
    """Rows and validated events from one connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        async with self.conn.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall())

    async def _models(
        self, model: type[ModelT], sql: str, parameters: Sequence[Any]
    ) -> list[ModelT]:
        rows = await self._rows(sql, parameters)
        return [model.model_validate_json(redact_text(row[0])) for row in rows]
