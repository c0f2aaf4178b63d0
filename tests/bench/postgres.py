"""Scratch PostgreSQL databases for the servers under test, and the CPU their
backends use (part of a server's cost on PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg

from tests.bench.procstat import (
    children_of,
    cpu_seconds,
    parse_stat_children_cpu,
    total_cpu_seconds,
)

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def sqlalchemy_url(database: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"


async def available() -> bool:
    try:
        connection = await asyncpg.connect(ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


async def create_database(name: str, *, c_locale: bool = False) -> None:
    """A fresh database (dropped first if a crashed run left one behind).
    Synapse insists on C collation, so its databases ask for it."""
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        options = " TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        await connection.execute(f'CREATE DATABASE "{name}"' + (options if c_locale else ""))
    finally:
        await connection.close()


async def drop_database(name: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def quiesce(databases: list[str]) -> None:
    """After set-up and before anything is timed: vacuums and analyzes each
    database (what autovacuum would otherwise start in the middle of a
    measurement, after set-up's thousands of rows), then a checkpoint, so that
    set-up's dirty pages are on disk and no workload's commits wait behind
    their writing. Each server's database is treated alike."""
    for database in databases:
        connection = await asyncpg.connect(ADMIN_DSN.rsplit("/", 1)[0] + "/" + database)
        try:
            await connection.execute("VACUUM (ANALYZE)")
        finally:
            await connection.close()
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


async def postmaster_pid() -> int:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        data_directory = str(await connection.fetchval("SHOW data_directory"))
    finally:
        await connection.close()
    return int((Path(data_directory) / "postmaster.pid").read_text().split()[0])


def database_backends(postmaster: int, database: str) -> list[int]:
    """The backends serving `database` now, found by their process titles
    ("postgres: 15/main: <user> <database> <client> <state>"), no SQL needed."""
    found = []
    needle = f" {database} ".encode()
    for pid in children_of(postmaster):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if needle in title:
            found.append(pid)
    return found


class BackendCpu:
    """CPU used by one database's backends over a window. The machine's
    PostgreSQL is shared (other databases, other people's tests), so the
    cluster's total would not do. Backends are sampled every `interval` s, so
    one that closes mid-window keeps the CPU it was last seen with."""

    def __init__(self, postmaster: int, database: str, interval: float = 0.2) -> None:
        self._postmaster = postmaster
        self._database = database
        self._interval = interval
        self._base: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None

    def _sample(self) -> dict[int, float]:
        return {
            pid: cpu_seconds(pid) for pid in database_backends(self._postmaster, self._database)
        }

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            for pid, cpu in self._sample().items():
                if cpu > 0:
                    self._last[pid] = cpu

    def start(self) -> None:
        self._base = self._sample()
        self._last = dict(self._base)
        self._task = asyncio.create_task(self._poll())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for pid, cpu in self._sample().items():
            if cpu > 0:
                self._last[pid] = cpu
        return sum(cpu - self._base.get(pid, 0.0) for pid, cpu in self._last.items())


def cluster_cpu_seconds(postmaster: int) -> float:
    """CPU time of the whole PostgreSQL cluster: the postmaster, its live
    children (backends, writers) and its children that have exited (the kernel
    adds those to the postmaster's cutime/cstime when they are reaped), so a
    connection closed mid-workload still counts."""
    try:
        raw = Path(f"/proc/{postmaster}/stat").read_text()
    except OSError:
        return 0.0
    return (
        cpu_seconds(postmaster)
        + parse_stat_children_cpu(raw)
        + total_cpu_seconds(children_of(postmaster))
    )


async def server_version() -> str:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()
