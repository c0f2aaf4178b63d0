"""Copying an installation from SQLite to PostgreSQL (`homeserver port-db`).

Both schemas are first brought up to date by the migrations, then every table
of `tables.metadata` is copied in dependency order, in batches, inside one
PostgreSQL transaction: a failed port leaves the target empty, ready for
another try. A target that already holds data is refused. Stream positions are
derived from the copied rows (the newest position in each table), so the
server carries on after the highest position the SQLite installation reached;
column sequences, should a table have one, are moved past the copied rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import Table, func, insert, literal, make_url, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from homeserver.storage.engine import create_engine, run_migrations
from homeserver.storage.tables import metadata

logger = logging.getLogger(__name__)

BATCH_ROWS = 1000
Progress = Callable[[str, int], None]


class PortError(Exception):
    pass


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def postgres_url(url: str) -> str:
    """The URL with the asyncpg driver (`postgresql://...` is accepted too)."""
    try:
        parsed: URL = make_url(url)
    except Exception as exc:
        raise PortError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() != "postgresql":
        raise PortError("the target must be a PostgreSQL database (postgresql://...)")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def port_database(
    sqlite_path: Path,
    target_url: str,
    *,
    batch_rows: int = BATCH_ROWS,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Copies every table; returns the number of rows copied per table."""
    if not await asyncio.to_thread(sqlite_path.is_file):
        raise PortError(f"no SQLite database at {sqlite_path}")
    source = create_engine(sqlite_url(sqlite_path))
    target = create_engine(postgres_url(target_url))
    tables = metadata.sorted_tables
    try:
        await run_migrations(source)
        await run_migrations(target)
        copied: dict[str, int] = {}
        async with target.begin() as out:
            occupied = await _tables_with_rows(out, tables)
            if occupied:
                raise PortError(
                    "the target database already holds data (in "
                    f"{', '.join(occupied)}); port into an empty database"
                )
            async with source.connect() as src:
                for table in tables:
                    copied[table.name] = await _copy_table(src, out, table, batch_rows)
                    if progress is not None:
                        progress(table.name, copied[table.name])
            await reset_sequences(out, tables)
        return copied
    finally:
        await source.dispose()
        await target.dispose()


async def _tables_with_rows(conn: AsyncConnection, tables: Sequence[Table]) -> list[str]:
    occupied = []
    for table in tables:
        row = (await conn.execute(select(literal(1)).select_from(table).limit(1))).first()
        if row is not None:
            occupied.append(table.name)
    return occupied


async def _copy_table(
    src: AsyncConnection, out: AsyncConnection, table: Table, batch_rows: int
) -> int:
    count = 0
    ordered = select(table).order_by(*table.primary_key.columns)
    result = await src.stream(ordered)
    async for rows in result.partitions(batch_rows):
        await out.execute(insert(table), [dict(row._mapping) for row in rows])
        count += len(rows)
    return count


async def reset_sequences(conn: AsyncConnection, tables: Sequence[Table]) -> list[str]:
    """Moves each column sequence (serial or identity) past the column's
    highest value, so that the next generated value does not collide with a
    copied row. Returns the sequences it set."""
    moved = []
    for table in tables:
        for column in table.columns:
            sequence = (
                await conn.execute(select(func.pg_get_serial_sequence(table.name, column.name)))
            ).scalar()
            if sequence is None:
                continue
            highest = (await conn.execute(select(func.max(column)))).scalar()
            if highest is None:
                await conn.execute(select(func.setval(sequence, 1, False)))
            else:
                await conn.execute(select(func.setval(sequence, highest, True)))
            moved.append(str(sequence))
    return moved
