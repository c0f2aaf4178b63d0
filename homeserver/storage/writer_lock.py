"""One server process per database, unless it runs as a cluster.

A single process hands out stream positions from a counter in memory, and
every in-memory view (notifier, room caches, memberships, the token cache)
assumes that it wrote everything there is. A second process on the same
database would hand out colliding positions and serve stale state, so it is
refused at start. Workers of a cluster (REDIS_URL set, PostgreSQL only) take
the lock *shared*: any number of them may run together, but never beside a
single process, which holds it exclusively.

PostgreSQL: a session-level advisory lock, held on a connection of its own for
the life of the process. SQLite: an exclusive `flock` on a file beside the
database (not the database file itself: closing any descriptor of a file drops
the POSIX locks SQLite holds on it). Both are released by the operating system
or the database when the process dies, `kill -9` included, so a restart after a
crash is never refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from pathlib import Path

from sqlalchemy import func, make_url, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from homeserver.storage.engine import is_sqlite

# A fixed 64-bit key in PostgreSQL's advisory-lock space, named so that it is
# recognisable in pg_locks (objid/classid are its two halves).
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"homeserver: single event writer").digest()[:8], "big", signed=True
)
SQLITE_LOCK_SUFFIX = ".writer-lock"


class DatabaseInUse(Exception):
    """Another server process already serves this database."""


def _refusal(where: str, *, shared: bool = False) -> DatabaseInUse:
    if shared:
        return DatabaseInUse(
            f"another homeserver process is already serving this database ({where}) "
            "as a single process (without REDIS_URL). Workers of a cluster cannot run "
            "beside it: restart it with the same REDIS_URL as this one, or stop it."
        )
    return DatabaseInUse(
        f"another homeserver process is already serving this database ({where}). "
        "Several processes on one database need scale-out: set the same REDIS_URL "
        "(PostgreSQL only) on every one of them, or stop the other process, or give "
        "this one its own DATA_DIR and DATABASE_URL."
    )


class WriterLock:
    """Held from `acquire` to `release`; `release` is idempotent."""

    def __init__(
        self,
        *,
        fd: int | None = None,
        engine: AsyncEngine | None = None,
        connection: AsyncConnection | None = None,
    ) -> None:
        self._fd = fd
        self._engine = engine
        self._connection = connection

    @property
    def connection(self) -> AsyncConnection | None:
        """The session holding the lock (PostgreSQL): it lives as long as the
        process, so its backend stands for the process (streams/multi_writer.py)."""
        return self._connection

    @classmethod
    async def acquire(cls, database_url: str, *, shared: bool = False) -> WriterLock:
        """`shared`: a worker of a cluster (PostgreSQL only)."""
        if is_sqlite(database_url):
            if shared:
                raise ValueError("several workers need PostgreSQL, not SQLite")
            path = make_url(database_url).database
            if not path or path == ":memory:":
                return cls()  # a private in-memory database: nobody to share it with
            return cls(fd=await asyncio.to_thread(_flock, Path(path)))
        return await cls._acquire_postgres(database_url, shared)

    @classmethod
    async def _acquire_postgres(cls, database_url: str, shared: bool) -> WriterLock:
        engine = create_async_engine(database_url, poolclass=NullPool)
        try:
            connection = await engine.connect()
            # Autocommit: the lock outlives transactions, and no transaction is
            # left open on this connection to hold back vacuum.
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            take = func.pg_try_advisory_lock_shared if shared else func.pg_try_advisory_lock
            got = await connection.scalar(select(take(ADVISORY_LOCK_KEY)))
        except BaseException:
            await engine.dispose()
            raise
        if not got:
            await connection.close()
            await engine.dispose()
            url = make_url(database_url)
            raise _refusal(
                f"PostgreSQL database {url.database!r} on {url.host}:{url.port or 5432}",
                shared=shared,
            )
        return cls(engine=engine, connection=connection)

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # the database may be gone already
                await connection.close()
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()


def _flock(database: Path) -> int:
    lock_path = database.with_name(database.name + SQLITE_LOCK_SUFFIX)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise _refusal(f"SQLite file {database}") from None
    except BaseException:
        os.close(fd)
        raise
    return fd
