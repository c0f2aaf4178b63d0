"""The Alembic migrations build exactly the schema the code declares, with a
single head, on the database under test (SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from homeserver.storage.engine import MIGRATIONS_DIR, _alembic_config, create_engine
from homeserver.storage.search_schema import include_object
from homeserver.storage.tables import metadata


def _differences(connection: Connection) -> list[Any]:
    # The full-text index is dialect-specific DDL outside tables.py (search_schema.py).
    context = MigrationContext.configure(connection, opts={"include_object": include_object})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == [], f"migrations and tables.py disagree: {differences}"


def test_one_head() -> None:
    config = _alembic_config(None)  # type: ignore[arg-type]
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"migration branches left unmerged: {heads} ({MIGRATIONS_DIR})"
