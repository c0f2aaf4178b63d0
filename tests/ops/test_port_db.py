"""`homeserver port-db`: an installation populated through the real server on
SQLite, copied to PostgreSQL, then served from there."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, insert, select

from homeserver.storage.engine import create_engine
from homeserver.storage.port import reset_sequences
from tests.conftest import TEST_DATABASE_URL, create_scratch_postgres, drop_scratch_postgres
from tests.e2e.conftest import ServerProcess, base_env, free_port
from tests.e2e.helpers import (
    PASSWORD,
    V3,
    User,
    create_room,
    login,
    ok,
    page_back_all,
    q,
    register,
    send_text,
    sync,
    timeline_bodies,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)"),
]

MESSAGES = 30
ROOM_RULE = {"actions": ["dont_notify"]}


@pytest.fixture
async def scratch_database() -> AsyncIterator[str]:
    url = await create_scratch_postgres(TEST_DATABASE_URL)
    yield url
    await drop_scratch_postgres(TEST_DATABASE_URL, url)


def _port_db(data_dir: Path, sqlite: Path, postgres: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "homeserver", "--data-dir", str(data_dir), "port-db"),
            *("--sqlite", str(sqlite), "--postgres", postgres),
        ],
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _populate(http: httpx.AsyncClient) -> dict[str, Any]:
    alice = await register(http, "alice")
    bob = await register(http, "bob")
    room_id = await create_room(http, alice, name="Ported", preset="private_chat")
    ok(
        await http.post(
            f"{V3}/rooms/{q(room_id)}/invite", json={"user_id": bob.user_id}, headers=alice.headers
        )
    )
    ok(await http.post(f"{V3}/join/{q(room_id)}", json={}, headers=bob.headers))
    last = ""
    for n in range(MESSAGES):
        last = await send_text(http, alice if n % 2 == 0 else bob, room_id, f"before {n}")
    ok(
        await http.post(
            f"{V3}/rooms/{q(room_id)}/receipt/m.read/{q(last)}", json={}, headers=bob.headers
        )
    )
    ok(
        await http.put(
            f"{V3}/pushrules/global/room/{q(room_id)}", json=ROOM_RULE, headers=alice.headers
        )
    )
    # A refreshable session: what OAuth clients and refresh-capable clients hold.
    refreshable = ok(
        await http.post(
            f"{V3}/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "alice"},
                "password": PASSWORD,
                "refresh_token": True,
            },
        )
    )
    since = (await sync(http, bob))["next_batch"]
    return {
        "alice": alice,
        "bob": bob,
        "room_id": room_id,
        "refresh_token": refreshable["refresh_token"],
        "bob_since": since,
    }


async def test_port_sqlite_installation_to_postgres(scratch_database: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    sqlite_path = data_dir / "homeserver.db"
    port = free_port()
    for name in ("sqlite-logs", "pg-logs"):
        (tmp_path / name).mkdir()
    on_sqlite = ServerProcess(data_dir, port, "", tmp_path / "sqlite-logs")
    await asyncio.to_thread(on_sqlite.start)
    try:
        async with httpx.AsyncClient(base_url=on_sqlite.base_url, timeout=15) as http:
            before = await _populate(http)
        assert await asyncio.to_thread(on_sqlite.stop) == 0
    finally:
        on_sqlite.kill()

    ported = await asyncio.to_thread(_port_db, data_dir, sqlite_path, scratch_database)
    assert ported.returncode == 0, ported.stdout + ported.stderr
    assert "events: " in ported.stdout and "done:" in ported.stdout
    # Into a database that now holds data: refused, nothing touched.
    again = await asyncio.to_thread(_port_db, data_dir, sqlite_path, scratch_database)
    assert again.returncode == 1
    assert "already holds data" in again.stderr

    on_postgres = ServerProcess(data_dir, port, scratch_database, tmp_path / "pg-logs")
    await asyncio.to_thread(on_postgres.start)
    try:
        async with httpx.AsyncClient(base_url=on_postgres.base_url, timeout=15) as http:
            await _check_served(http, before)
    except BaseException:
        print(on_postgres.logs())
        raise
    finally:
        on_postgres.kill()


async def _check_served(http: httpx.AsyncClient, before: dict[str, Any]) -> None:
    room_id: str = before["room_id"]
    old_bob: User = before["bob"]
    alice = await login(http, "alice")
    bob = await login(http, "bob")
    # Sessions came along: bob's old token still works, alice's refresh token too.
    assert ok(await http.get(f"{V3}/account/whoami", headers=old_bob.headers))["user_id"] == (
        old_bob.user_id
    )
    refreshed = ok(
        await http.post(f"{V3}/refresh", json={"refresh_token": before["refresh_token"]})
    )
    assert refreshed["access_token"]

    initial = await sync(http, alice)
    assert room_id in initial["rooms"]["join"]
    history = await page_back_all(http, alice, room_id, None)
    bodies = [e["content"]["body"] for e in reversed(history) if e["type"] == "m.room.message"]
    assert bodies == [f"before {n}" for n in range(MESSAGES)]

    rules = ok(await http.get(f"{V3}/pushrules/", headers=alice.headers))["global"]["room"]
    assert [r["rule_id"] for r in rules if not r.get("default")] == [room_id]
    receipts = [
        e
        for e in initial["rooms"]["join"][room_id]["ephemeral"]["events"]
        if e["type"] == "m.receipt"
    ]
    readers = {
        user
        for content in receipts
        for r in content["content"].values()
        for user in r.get("m.read", {})
    }
    assert old_bob.user_id in readers

    # New messages get later stream positions: the token bob had before the
    # port sees exactly them, and history ends with them.
    new_id = await send_text(http, bob, room_id, "after the port")
    incremental = await sync(http, old_bob, since=before["bob_since"])
    assert timeline_bodies(incremental, room_id) == ["after the port"]
    newest = ok(
        await http.get(
            f"{V3}/rooms/{q(room_id)}/messages",
            params={"dir": "b", "limit": "2"},
            headers=bob.headers,
        )
    )["chunk"]
    assert [e["event_id"] for e in newest][:1] == [new_id]
    assert newest[1]["content"]["body"] == f"before {MESSAGES - 1}"


async def test_sequences_are_moved_past_copied_rows(scratch_database: str) -> None:
    scratch_meta = MetaData()
    numbered = Table(
        "port_test_numbered",
        scratch_meta,
        Column("id", Integer, primary_key=True),
        Column("name", String(20)),
    )
    plain = Table(
        "port_test_plain",
        scratch_meta,
        Column("n", BigInteger, primary_key=True, autoincrement=False),
    )
    engine = create_engine(scratch_database)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(scratch_meta.create_all)
            # As port-db copies: explicit ids, the sequence left behind at 1.
            await conn.execute(insert(numbered), [{"id": i, "name": f"n{i}"} for i in (1, 2, 7)])
            moved = await reset_sequences(conn, [numbered, plain])
            assert moved == ["public.port_test_numbered_id_seq"]
            await conn.execute(insert(numbered).values(name="next"))
            ids = (
                (await conn.execute(select(numbered.c.id).order_by(numbered.c.id))).scalars().all()
            )
            assert ids == [1, 2, 7, 8]
    finally:
        await engine.dispose()
