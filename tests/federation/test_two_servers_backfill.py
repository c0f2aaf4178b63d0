"""Backfill between two real servers (127.0.0.1 and 127.0.0.2 over TLS):
a user of B joining a room of A sees the history from before the join as
`m.room.history_visibility` allows, paging back through `/messages`, which
fetches it from A (`/backfill`) when B's own history runs out; the history is
not news (`/sync` does not bring it), and nothing comes twice."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.federation.two_servers import (
    Account,
    Client,
    Pair,
    message_bodies,
    page_back,
    q,
    timeline,
)

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
    pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="runs in the SQLite pass"),
]


async def room_with_history(a: Client, alice: Account, visibility: str, count: int) -> str:
    created = await a.ok("POST", "/createRoom", alice, json={"preset": "public_chat"})
    room_id = str(created["room_id"])
    await a.ok(
        "PUT",
        f"/rooms/{q(room_id)}/state/m.room.history_visibility/",
        alice,
        json={"history_visibility": visibility},
    )
    for n in range(1, count + 1):
        await a.send_text(alice, room_id, f"before {n}")
    return room_id


async def join_from_b(pair: Pair, bob: Account, room_id: str) -> str:
    await pair.b.ok(
        "POST",
        f"/join/{q(room_id)}",
        bob,
        json={},
        params={"server_name": pair.a.server.server_name},
    )
    body, since = await pair.b.sync_until(bob, lambda body: room_id in body["rooms"]["join"])
    # The join's /sync brings the room from the join on: no history from A.
    assert not [b for b in message_bodies(timeline(body, room_id)) if b.startswith("before")]
    return since


async def test_joining_user_pages_back_through_shared_history(pair: Pair) -> None:
    a, b = pair
    alice = await a.register("alice")
    bob = await b.register("bob")
    room_id = await room_with_history(a, alice, "shared", 30)
    since = await join_from_b(pair, bob, room_id)
    await a.send_text(alice, room_id, "after the join")
    body, since = await b.sync_until(
        bob, lambda body: "after the join" in message_bodies(timeline(body, room_id)), since
    )

    events, pages = await page_back(b, bob, room_id)
    texts = message_bodies(events)
    expected = ["after the join", *(f"before {n}" for n in range(30, 0, -1))]
    assert texts == expected
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids)), "an event came twice"
    assert pages >= 4
    # The whole room, as on A.
    on_a, _ = await page_back(a, alice, room_id, limit=50)
    assert {e["event_id"] for e in on_a} == set(ids)

    # Paging again reads what is now held: the same events, nothing fetched twice.
    again, _ = await page_back(b, bob, room_id, limit=7)
    assert [e["event_id"] for e in again] == ids
    # Going forwards from the beginning gives the same history, oldest first.
    forwards = await b.ok(
        "GET", f"/rooms/{q(room_id)}/messages", bob, params={"dir": "f", "limit": "100"}
    )
    assert [e["event_id"] for e in forwards["chunk"]] == list(reversed(ids))

    # The backfilled history is not news: an incremental /sync brings none of it.
    await a.send_text(alice, room_id, "later still")
    body, _ = await b.sync_until(
        bob, lambda body: "later still" in message_bodies(timeline(body, room_id)), since
    )
    assert message_bodies(timeline(body, room_id)) == ["later still"]


async def test_joined_visibility_shows_nothing_from_before_the_join(pair: Pair) -> None:
    a, b = pair
    alice = await a.register("alice")
    bob = await b.register("bob")
    room_id = await room_with_history(a, alice, "joined", 5)
    await join_from_b(pair, bob, room_id)
    await a.send_text(alice, room_id, "after the join")
    await b.sync_until(
        bob, lambda body: "after the join" in message_bodies(timeline(body, room_id))
    )

    events, _ = await page_back(b, bob, room_id)
    assert message_bodies(events) == ["after the join"]
    # Alice still sees everything on A.
    on_a, _ = await page_back(a, alice, room_id, limit=50)
    assert message_bodies(on_a)[-5:] == [f"before {n}" for n in range(5, 0, -1)]


async def test_history_comes_once_the_other_server_is_back(pair: Pair) -> None:
    """With A stopped, B's /messages answers with what B holds; once A is
    back, paging back again fetches the history."""
    a, b = pair
    alice = await a.register("alice")
    bob = await b.register("bob")
    room_id = await room_with_history(a, alice, "shared", 5)
    await join_from_b(pair, bob, room_id)

    a.server.stop()
    events, _ = await page_back(b, bob, room_id)
    assert message_bodies(events) == []
    assert any(e["type"] == "m.room.member" and e["state_key"] == bob.user_id for e in events)

    a.server.start()
    a.server.wait_for_federation()
    events, _ = await page_back(b, bob, room_id)
    assert message_bodies(events) == [f"before {n}" for n in range(5, 0, -1)]
