"""One server process per database: a second one is refused at start with a
clear message (it would hand out colliding stream positions), the first keeps
serving, and the lock dies with its process, `kill -9` included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from homeserver.storage.writer_lock import DatabaseInUse, WriterLock
from tests.e2e.conftest import ServerProcess, StartServer, free_port
from tests.e2e.helpers import V3, ok

pytestmark = pytest.mark.e2e

REFUSAL = "another homeserver process is already serving this database"


def _second_process(server: ServerProcess, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`homeserver run` on the same database as `server`, on a port of its own."""
    env = {**server.env, "DATA_DIR": str(data_dir), "PORT": str(free_port())}
    if not server.database_url.startswith("postgresql"):
        # SQLite lives in the data folder: the same folder is the same database.
        env["DATA_DIR"] = str(server.data_dir)
    return subprocess.run(
        [sys.executable, "-m", "homeserver", "run"],
        env=env,
        cwd=data_dir.parent,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _register(base_url: str, name: str) -> str:
    body = {
        "username": name,
        "password": "a long enough password",
        "auth": {"type": "m.login.dummy"},
    }
    return str(ok(httpx.post(f"{base_url}{V3}/register", json=body, timeout=10))["user_id"])


def test_second_process_is_refused_and_first_keeps_serving(
    start_server: StartServer, tmp_path: Path
) -> None:
    first = start_server()
    _register(first.base_url, "ana")

    second = _second_process(first, tmp_path / "second-data")
    assert second.returncode == 1, second.stdout + second.stderr
    assert REFUSAL in second.stderr
    assert "Traceback" not in second.stderr
    assert "listening on" not in second.stdout, "a refused process must not claim to listen"

    # The first process noticed nothing.
    assert _register(first.base_url, "bob") == "@bob:localhost"


def test_lock_is_released_when_the_holder_is_killed(start_server: StartServer) -> None:
    server = start_server()
    _register(server.base_url, "ana")
    assert server.process is not None
    server.process.kill()  # SIGKILL: no clean-up code runs
    server.process.wait(10)
    server.start()  # would fail with the refusal if the lock outlived the process
    login = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "ana"},
        "password": "a long enough password",
    }
    assert ok(httpx.post(f"{server.base_url}{V3}/login", json=login, timeout=10))["user_id"]


def test_create_user_runs_beside_a_serving_process(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "homeserver",
            "create-user",
            "carol",
            "--password",
            "a long password",
        ],
        env=server.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    login = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "carol"},
        "password": "a long password",
    }
    assert ok(httpx.post(f"{server.base_url}{V3}/login", json=login, timeout=10))["user_id"] == (
        "@carol:localhost"
    )


async def test_lock_is_exclusive_until_released(e2e_database_url: str) -> None:
    held = await WriterLock.acquire(e2e_database_url)
    try:
        with pytest.raises(DatabaseInUse, match=REFUSAL):
            await WriterLock.acquire(e2e_database_url)
    finally:
        await held.release()
    await held.release()  # idempotent
    again = await WriterLock.acquire(e2e_database_url)
    await again.release()


async def test_cluster_workers_share_the_lock_but_never_beside_a_single_process(
    e2e_database_url: str,
) -> None:
    if not e2e_database_url.startswith("postgresql"):
        with pytest.raises(ValueError, match="PostgreSQL"):
            await WriterLock.acquire(e2e_database_url, shared=True)
        return
    first = await WriterLock.acquire(e2e_database_url, shared=True)
    second = await WriterLock.acquire(e2e_database_url, shared=True)
    try:
        with pytest.raises(DatabaseInUse, match="REDIS_URL"):
            await WriterLock.acquire(e2e_database_url)
    finally:
        await first.release()
        await second.release()
    single = await WriterLock.acquire(e2e_database_url)
    try:
        with pytest.raises(DatabaseInUse, match="as a single process"):
            await WriterLock.acquire(e2e_database_url, shared=True)
    finally:
        await single.release()
