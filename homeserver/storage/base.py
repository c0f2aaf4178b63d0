"""What every store shares: the engine and a dialect-neutral upsert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine


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

