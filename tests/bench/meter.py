"""Resource use over one workload: the server process's CPU, the PostgreSQL
cluster's CPU (when the server is on PostgreSQL), the client processes' CPU,
and wall time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from tests.bench import postgres
from tests.bench.procstat import cpu_seconds, system_cpu_seconds
from tests.bench.servers import ServerUnderTest
from tests.bench.workers import WorkerPool


@dataclass
class Usage:
    wall: float = 0.0
    server_cpu: float = 0.0
    # The kernel-mode part of server_cpu (sockets, files).
    server_system_cpu: float = 0.0
    # The server's own PostgreSQL backends while the workload ran (None on
    # SQLite, where the database works inside the server process).
    database_cpu: float | None = None
    client_cpu: float = 0.0

    @property
    def server_total_cpu(self) -> float:
        """The server's cost: its process plus its database."""
        return self.server_cpu + (self.database_cpu or 0.0)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["server_total_cpu"] = self.server_total_cpu
        return data


class Meter:
    def __init__(self, pool: WorkerPool, postmaster: int | None) -> None:
        self._pool = pool
        self._postmaster = postmaster

    @asynccontextmanager
    async def measure(self, server: ServerUnderTest) -> AsyncIterator[Usage]:
        usage = Usage()
        backends: postgres.BackendCpu | None = None
        if server.pg_database is not None and self._postmaster is not None:
            backends = postgres.BackendCpu(self._postmaster, server.pg_database)
            backends.start()
        server_before = cpu_seconds(server.pid)
        system_before = system_cpu_seconds(server.pid)
        client_before = self._pool.cpu_seconds()
        started = time.monotonic()
        try:
            yield usage
        finally:
            usage.wall = time.monotonic() - started
            usage.server_cpu = cpu_seconds(server.pid) - server_before
            usage.server_system_cpu = system_cpu_seconds(server.pid) - system_before
            usage.client_cpu = self._pool.cpu_seconds() - client_before
            if backends is not None:
                usage.database_cpu = await backends.stop()
