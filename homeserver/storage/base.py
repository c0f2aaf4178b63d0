"""What every store shares: the engine and a dialect-neutral upsert."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert


class Store:
    def __init__(self, engine: AsyncEngine, write_lock: asyncio.Lock | None) -> None:
        self.engine = engine
        self._write_lock = write_lock

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction. SQLite has one writer at a time; taking turns
        in-process (rather than letting transactions collide and wait on the
        file lock) keeps check-then-write sequences atomic and never deadlocks."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
        else:
            async with self._write_lock, self.engine.begin() as conn:
                yield conn


def upsert(
    connection: AsyncConnection,
    table: Table,
    values: dict[str, Any],
    keys: Sequence[str],
) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE for SQLite and PostgreSQL alike."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    updates = {name: statement.excluded[name] for name in values if name not in keys}
    if not updates:
        return cast(Insert, statement.on_conflict_do_nothing(index_elements=list(keys)))
    return cast(Insert, statement.on_conflict_do_update(index_elements=list(keys), set_=updates))
