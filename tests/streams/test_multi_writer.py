"""Multi-writer stream positions on PostgreSQL: several writers (each with its
own engine and session, as separate worker processes have) allocate from one
sequence and commit out of order; readers following any writer's `current`
must never pass a position that commits later."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from homeserver.storage.engine import create_engine
from homeserver.storage.stream_writers import StreamWriterStore
from homeserver.streams import multi_writer
from homeserver.streams.multi_writer import MultiWriterPositions
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)"
)


async def _writer(url: str, name: str) -> tuple[MultiWriterPositions, AsyncEngine, AsyncConnection]:
    engine = create_engine(url)
    session = await engine.connect()  # stands for the worker's lifetime session
    pid = int(await session.scalar(text("SELECT pg_backend_pid()")))
    positions = MultiWriterPositions(StreamWriterStore(engine), name, pid, tick_seconds=0.05)
    return positions, engine, session


async def test_readers_never_pass_a_position_that_commits_later(database_url: str) -> None:
    admin = create_engine(database_url)
    async with admin.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS mw_probe"))
        await conn.execute(text("CREATE TABLE mw_probe (position BIGINT PRIMARY KEY)"))
    writers = [await _writer(database_url, f"w{i}") for i in range(3)]
    for positions, _, _ in writers:
        await positions.start(0)
    committed: set[int] = set()
    rng = random.Random(7)

    async def send(positions: MultiWriterPositions, engine: AsyncEngine) -> None:
        for _ in range(40):
            async with positions.allocate() as position, engine.begin() as conn:
                await conn.execute(text("INSERT INTO mw_probe VALUES (:p)"), {"p": position})
                # Out-of-order commits: some transactions take much longer.
                await asyncio.sleep(rng.choice((0, 0, 0.001, 0.02, 0.08)))
            committed.add(position)

    violations: list[str] = []
    seen_by_reader: list[list[int]] = []

    async def read(positions: MultiWriterPositions, done: asyncio.Event) -> None:
        seen: list[int] = []
        upto = 0
        while True:
            finished = done.is_set()
            current = positions.current
            async with admin.connect() as conn:
                rows = (
                    await conn.execute(
                        text("SELECT position FROM mw_probe WHERE position <= :c ORDER BY 1"),
                        {"c": current},
                    )
                ).scalars()
                below = list(rows)
            late = [p for p in below if p <= upto and p not in seen]
            if late:
                violations.append(f"{positions.instance}: {late} appeared below {upto}")
            seen.extend(p for p in below if p > upto)
            upto = max(upto, current)
            if finished and upto >= max(committed, default=0):
                break
            await asyncio.sleep(0.005)
        seen_by_reader.append(seen)

    done = asyncio.Event()
    readers = [asyncio.create_task(read(positions, done)) for positions, _, _ in writers]
    await asyncio.gather(*(send(positions, engine) for positions, engine, _ in writers))
    done.set()
    async with asyncio.timeout(20):
        await asyncio.gather(*readers)
    assert not violations
    for seen in seen_by_reader:
        assert seen == sorted(committed)  # every event exactly once, in order
    for positions, engine, session in writers:
        await positions.stop()
        await session.close()
        await engine.dispose()
    # The database is shared with later tests (the migrated-schema check among them).
    async with admin.begin() as conn:
        await conn.execute(text("DROP TABLE mw_probe"))
    await admin.dispose()


async def test_a_dead_writer_stops_holding_readers_back(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(multi_writer, "DEAD_WRITER_GRACE_SECONDS", 0.2)
    alive, alive_engine, alive_session = await _writer(database_url, "alive")
    dying, dying_engine, dying_session = await _writer(database_url, "dying")
    await alive.start(0)
    await dying.start(0)
    stuck = await dying.reserve()  # in flight when its process "dies"
    await dying.publish()
    task = dying._task
    assert task is not None
    task.cancel()
    async with alive.allocate() as position:
        pass
    assert position > stuck
    await asyncio.sleep(0.3)
    assert alive.current < stuck  # the dying writer still holds readers back
    await dying_session.close()  # its session ends with the process
    await dying_engine.dispose()
    reached = asyncio.Event()
    alive.add_listener(lambda current: reached.set() if current >= position else None)
    async with asyncio.timeout(5):
        await reached.wait()
    await alive.stop()
    await alive_session.close()
    await alive_engine.dispose()
