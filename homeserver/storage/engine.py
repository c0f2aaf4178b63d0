"""The database engine (SQLite or PostgreSQL) and schema migrations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x686F6D6573657276  # "homeserv"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    # No pre-ping (a round trip on every checkout): a connection found dead
    # fails its one statement, and that invalidates the whole pool at once.
    return create_async_engine(url, pool_size=20, max_overflow=20)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while a write commits; NORMAL sync is durable across
    # application crashes (fsync at checkpoints), the usual trade-off for WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    # "heads": independent branches of migrations (features developed side by
    # side) are all applied; a merge revision joins them later.
    command.upgrade(_alembic_config(connection), "heads")


async def run_migrations(engine: AsyncEngine) -> None:
    """Brings the schema up to the newest Alembic revision."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Workers of a cluster starting together migrate one at a time
            # (the others then find the schema up to date).
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        await connection.run_sync(_upgrade)
    logger.info("database schema is up to date", extra={"database": engine.url.drivername})
