"""The SQLite file out of reach (a volume gone, say): 503 while it is, and
everything back, with nothing acknowledged lost, once it returns."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.conftest import TEST_DATABASE_URL
from tests.matrix_client import V3, q
from tests.ops.conftest import Operated

pytestmark = pytest.mark.skipif(
    bool(TEST_DATABASE_URL), reason="SQLite only (PostgreSQL: test_database_outage)"
)


def _take_away(path: Path, aside: Path) -> None:
    path.rename(aside)
    path.mkdir()  # what is there now cannot be opened as a database


def _bring_back(path: Path, aside: Path) -> None:
    path.rmdir()
    aside.rename(path)


async def test_sqlite_file_gone_then_back(operated: Operated, database_url: str) -> None:
    alice = await operated.matrix.register("alice")
    room_id = await operated.matrix.create_room(alice)
    before = await operated.matrix.send_text(alice, room_id, "before")

    path = Path(str(make_url(database_url).database))
    aside = path.with_suffix(".aside")
    await operated.server.storage.engine.dispose()
    await asyncio.to_thread(_take_away, path, aside)
    try:
        send = await operated.matrix.put(
            f"{V3}/rooms/{q(room_id)}/send/m.room.message/during",
            json={"msgtype": "m.text", "body": "during"},
            token=alice.access_token,
            check_contract=False,
        )
        assert send.status == 503, send.body
        assert send.body["errcode"] == "M_UNKNOWN"
        assert "database" in send.body["error"]
        assert send.headers.get("retry-after") == "1", send.headers
        ready = await operated.http.get("/ready")
        assert ready.status_code == 503
        assert (await ready.get_json())["errcode"] == "M_UNKNOWN"
        assert (await operated.http.get("/health")).status_code == 200
        assert operated.sample("homeserver_database_up") is not None
    finally:
        await asyncio.to_thread(_bring_back, path, aside)

    assert (await operated.http.get("/ready")).status_code == 200
    after = await operated.matrix.send_text(alice, room_id, "after")
    page = await operated.matrix.get(
        f"{V3}/rooms/{q(room_id)}/messages",
        token=alice.access_token,
        query={"dir": "b", "limit": 10},
    )
    ids = [e["event_id"] for e in page.ok()["chunk"]]
    assert ids.index(after) < ids.index(before)
    bodies = [e["content"].get("body") for e in page.ok()["chunk"] if e["type"] == "m.room.message"]
    assert bodies == ["after", "before"]
