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
        # On PostgreSQL reads run outside a transaction: each statement is its
        # own snapshot (as under READ COMMITTED anyway), and a read costs one
        # round trip instead of BEGIN, the query and ROLLBACK. (SQLite's driver
        # begins transactions only for writes already.)
        self._reader = (
            engine
            if engine.dialect.name == "sqlite"
            else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._write_lock = write_lock

    def read(self) -> AsyncConnection:
        """A connection for reading (`async with self.read() as conn`)."""
        return self._reader.connect()

    @property
    def single_statement_writes(self) -> bool:
        """Whether `write_statement` may be used (PostgreSQL): there a single
        statement outside a transaction is atomic and durable on its own."""
        return self.engine.dialect.name == "postgresql"

    def write_statement(self) -> AsyncConnection:
        """A connection outside any transaction, for a write that is one
        statement: one round trip instead of BEGIN, the statement and COMMIT."""
        if not self.single_statement_writes:
            raise RuntimeError("single-statement writes need PostgreSQL")
        return self._reader.connect()

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


def upsert_many(connection: AsyncConnection, table: Table, keys: Sequence[str]) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE of every other column, to run
    with a list of rows (each key at most once)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    return cast(Insert, statement.on_conflict_do_update(index_elements=list(keys), set_=updates))
