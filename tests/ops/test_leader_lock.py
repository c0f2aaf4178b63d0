"""Once-per-cluster work: of several workers exactly one leads, and when the
leader's session dies another takes over."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text

from homeserver.storage.engine import create_engine
from homeserver.storage.leader_lock import LeaderLock, leader_lock_key
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)"
)


async def test_one_leader_at_a_time_and_the_lead_moves_when_it_dies(database_url: str) -> None:
    leading: list[str] = []
    changed = asyncio.Event()

    def worker(name: str) -> LeaderLock:
        async def elected() -> None:
            leading.append(name)
            changed.set()

        async def deposed() -> None:
            leading.remove(name)
            changed.set()

        return LeaderLock(
            database_url, "test-work", on_elected=elected, on_deposed=deposed, retry_seconds=0.1
        )

    workers = [worker(f"w{i}") for i in range(3)]
    for lock in workers:
        lock.start()

    async def until(condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while True:
                changed.clear()
                if condition():
                    return
                await changed.wait()

    await until(lambda: bool(leading))
    await asyncio.sleep(0.5)  # the others keep trying meanwhile
    assert len(leading) == 1
    first = next(lock for lock in workers if lock.is_leader)

    # The leader's session is killed (as when its process dies).
    admin = create_engine(database_url)
    async with admin.connect() as conn:
        await conn.execute(
            select(func.pg_terminate_backend(text("pid")))
            .select_from(text("pg_locks"))
            .where(text("locktype = 'advisory' AND granted"))
            .where(text("((classid::bigint << 32) | objid::bigint) = :key"))
            .params(key=leader_lock_key("test-work") & 0xFFFFFFFFFFFFFFFF)
        )
        await conn.commit()
    await until(lambda: not first.is_leader and len(leading) == 1)
    assert leading != [] and not first.is_leader
    for lock in workers:
        await lock.stop()
    assert leading == []
    await admin.dispose()
