"""The SQL behind multi-writer stream positions (streams/multi_writer.py), on
PostgreSQL only: positions come from one sequence, so they are unique and
increase across every worker; each writer records how far its own positions
have all finished."""

from __future__ import annotations

from sqlalchemy import Sequence, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from homeserver.storage.tables import stream_writers

POSITION_SEQUENCE = Sequence("stream_position_seq")


class StreamWriterStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def next_position(self) -> int:
        async with self._engine.connect() as conn:
            value = await conn.scalar(POSITION_SEQUENCE.next_value())
            await conn.commit()
        return int(value)

    async def last_allocated(self) -> int:
        """The sequence's newest value (0 before the first): every later
        allocation returns more."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT last_value, is_called FROM stream_position_seq"))
            ).one()
        return int(row.last_value) if row.is_called else int(row.last_value) - 1

    async def catch_up_sequence(self, at_least: int) -> None:
        """After single-process runs (whose positions came from memory) the
        sequence may be behind what the tables hold; only ever moved forward."""
        async with self._engine.begin() as conn:
            await conn.execute(
                text(
                    "SELECT setval('stream_position_seq', :at_least) "
                    "WHERE (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
                    "FROM stream_position_seq) < :at_least"
                ),
                {"at_least": at_least},
            )

    async def record(self, instance: str, backend_pid: int, safe_position: int) -> None:
        async with self._engine.begin() as conn:
            statement = insert(stream_writers).values(
                instance=instance, backend_pid=backend_pid, safe_position=safe_position
            )
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["instance"],
                    set_={
                        "backend_pid": statement.excluded.backend_pid,
                        # Never backwards, even if two updates cross.
                        "safe_position": func.greatest(
                            stream_writers.c.safe_position, statement.excluded.safe_position
                        ),
                    },
                )
            )

    async def forget(self, instance: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(stream_writers).where(stream_writers.c.instance == instance))

    async def writers(self) -> dict[str, tuple[int, int, bool]]:
        """instance -> (safe position, backend pid, whether that backend is alive)."""
        alive = (
            select(func.count())
            .select_from(text("pg_stat_activity"))
            .where(text("pid = stream_writers.backend_pid"))
            .scalar_subquery()
        )
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        stream_writers.c.instance,
                        stream_writers.c.safe_position,
                        stream_writers.c.backend_pid,
                        alive.label("alive"),
                    )
                )
            ).all()
        return {row.instance: (row.safe_position, row.backend_pid, row.alive > 0) for row in rows}
