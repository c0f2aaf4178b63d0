"""Once-per-cluster background work (push sending, presence and typing
expiry, OAuth housekeeping, the federation sender): the worker holding a
PostgreSQL advisory lock does it, and when that worker dies the lock goes with
its session and another worker takes over within `retry_seconds`.

The lock is session-level, held on a connection of its own; the holder checks
that connection every `retry_seconds` and steps down (stops the work) as soon
as it breaks, since its lock may already be someone else's."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)


def leader_lock_key(name: str) -> int:
    digest = hashlib.sha256(f"homeserver: cluster leader: {name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderLock:
    def __init__(
        self,
        database_url: str,
        name: str,
        *,
        on_elected: Callable[[], Awaitable[None]],
        on_deposed: Callable[[], Awaitable[None]],
        retry_seconds: float = 2.0,
    ) -> None:
        self._engine = create_async_engine(database_url, poolclass=NullPool)
        self._key = leader_lock_key(name)
        self.name = name
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._retry_seconds = retry_seconds
        self._connection: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self.is_leader = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"leader-{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._step_down()
        await self._engine.dispose()

    async def _run(self) -> None:
        while True:
            try:
                if self.is_leader:
                    await self._still_held()
                else:
                    await self._try_to_lead()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("cluster leader lock check failed", extra={"lock": self.name})
                await self._step_down()
            await asyncio.sleep(self._retry_seconds)

    async def _try_to_lead(self) -> None:
        connection = await self._engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            got = await connection.scalar(select(func.pg_try_advisory_lock(self._key)))
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return
        self._connection = connection
        self.is_leader = True
        logger.info("cluster leader elected", extra={"lock": self.name})
        await self._on_elected()

    async def _still_held(self) -> None:
        assert self._connection is not None
        await self._connection.scalar(select(literal(1)))

    async def _step_down(self) -> None:
        was_leader, self.is_leader = self.is_leader, False
        connection, self._connection = self._connection, None
        if was_leader:
            with contextlib.suppress(Exception):
                await self._on_deposed()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
