"""Two real servers (127.0.0.1 and 127.0.0.2, TLS with a throwaway CA)
sharing rooms, driven through their client APIs only: joining by alias and by
room id with `via`/`server_name`, messages both ways in /sync, typing and
receipts across, leaving.

Each server keeps its own SQLite database (two processes need two databases;
the PostgreSQL path of the same code is covered by the in-process tests)."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.federation.two_servers import (
    Client,
    Pair,
    ephemeral,
    has_text,
    q,
    timeline,
)

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
    # The processes keep their own SQLite files whatever the database of the run:
    # once (in the SQLite pass) is enough.
    pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="runs in the SQLite pass"),
]


async def test_join_by_alias_messages_typing_receipts_and_leave(pair: Pair) -> None:
    a, b = pair.a, pair.b
    alice = await a.register("alice")
    bob = await b.register("bob")
    created = await a.ok(
        "POST", "/createRoom", alice, json={"preset": "public_chat", "room_alias_name": "lobby"}
    )
    room_id = created["room_id"]
    _, alice_since = await a.sync_until(alice, lambda body: room_id in body["rooms"]["join"])

    alias = f"#lobby:{a.server.server_name}"
    joined = await b.ok("POST", f"/join/{q(alias)}", bob, json={})
    assert joined["room_id"] == room_id

    # Alice sees Bob's join, then each side sees the other's message.
    def bob_joined(body: dict) -> bool:  # type: ignore[type-arg]
        return any(
            e["type"] == "m.room.member" and e["state_key"] == bob.user_id
            for e in timeline(body, room_id)
        )

    _, alice_since = await a.sync_until(alice, bob_joined, alice_since)
    await b.send_text(bob, room_id, "hello from B")
    _, alice_since = await a.sync_until(alice, has_text(room_id, "hello from B"), alice_since)
    alice_message = await a.send_text(alice, room_id, "hello from A")
    _, bob_since = await b.sync_until(bob, has_text(room_id, "hello from A"))

    # Typing and a read receipt from A reach B.
    await a.ok("PUT", f"/rooms/{q(room_id)}/typing/{q(alice.user_id)}", alice,
               json={"typing": True, "timeout": 30000})  # fmt: skip
    await a.ok("POST", f"/rooms/{q(room_id)}/receipt/m.read/{q(alice_message)}", alice, json={})

    seen: set[str] = set()

    def both_seen(body: dict) -> bool:  # type: ignore[type-arg]
        for e in ephemeral(body, room_id):
            if e["type"] == "m.typing" and alice.user_id in e["content"]["user_ids"]:
                seen.add("typing")
            if e["type"] == "m.receipt" and alice_message in e["content"]:
                seen.add("receipt")
        return seen == {"typing", "receipt"}

    await b.sync_until(bob, both_seen, bob_since)

    # Bob leaves: Alice sees it; Bob's server no longer gets the room's messages.
    await b.ok("POST", f"/rooms/{q(room_id)}/leave", bob, json={})

    def bob_left(body: dict) -> bool:  # type: ignore[type-arg]
        return any(
            e["type"] == "m.room.member"
            and e["state_key"] == bob.user_id
            and e["content"]["membership"] == "leave"
            for e in timeline(body, room_id)
        )

    await a.sync_until(alice, bob_left, alice_since)
    members = await a.ok("GET", f"/rooms/{q(room_id)}/joined_members", alice)
    assert list(members["joined"]) == [alice.user_id]


async def test_join_by_room_id_with_via_and_server_name(pair: Pair) -> None:
    a, b = pair.a, pair.b
    alice = await a.register("alice")
    bob = await b.register("bob")
    carol = await b.register("carol")
    # Room version 12 ids carry no server: the joining side needs `via`.
    room_id = (await a.ok("POST", "/createRoom", alice, json={"preset": "public_chat"}))["room_id"]
    via = a.server.server_name
    joined = await b.ok("POST", f"/join/{q(room_id)}", bob, json={}, params={"via": via})
    assert joined["room_id"] == room_id
    # The second local user joins the room B now holds, with the older parameter.
    await b.ok("POST", f"/join/{q(room_id)}", carol, json={}, params={"server_name": via})
    await a.send_text(alice, room_id, "to both")
    await b.sync_until(carol, has_text(room_id, "to both"))
    await b.sync_until(bob, has_text(room_id, "to both"))
    members = await a.ok("GET", f"/rooms/{q(room_id)}/joined_members", alice)
    assert set(members["joined"]) == {alice.user_id, bob.user_id, carol.user_id}

    # A room one may not join, and one that does not exist: the other server's no.
    private = (await a.ok("POST", "/createRoom", alice, json={"preset": "private_chat"}))["room_id"]
    refused = await b.call("POST", f"/join/{q(private)}", bob, json={}, params={"via": via})
    assert refused.status_code == 403, refused.text
    unknown = await b.call(
        "POST", f"/join/{q('!nothing:' + via)}", bob, json={}, params={"via": via}
    )
    assert (unknown.status_code, unknown.json()["errcode"]) == (404, "M_NOT_FOUND")


async def test_invites_across_servers_accepted_and_rejected(pair: Pair) -> None:
    a, b = pair.a, pair.b
    alice = await a.register("alice")
    bob = await b.register("bob")
    carol = await b.register("carol")
    body = {"preset": "private_chat", "name": "Secret plans"}
    room_id = (await a.ok("POST", "/createRoom", alice, json=body))["room_id"]
    for invitee in (bob, carol):
        await a.ok("POST", f"/rooms/{q(room_id)}/invite", alice, json={"user_id": invitee.user_id})
    # An unknown user of B: B refuses, so the invite is not made.
    refused = await a.call(
        "POST",
        f"/rooms/{q(room_id)}/invite",
        alice,
        json={"user_id": f"@nobody:{b.server.server_name}"},
    )
    assert refused.status_code == 403, refused.text

    def invited(body: dict) -> bool:  # type: ignore[type-arg]
        return room_id in body.get("rooms", {}).get("invite", {})

    bob_sync, _ = await b.sync_until(bob, invited)
    _, carol_since = await b.sync_until(carol, invited)
    # What A told B of the room comes with the invite: Bob sees its name.
    told = bob_sync["rooms"]["invite"][room_id]["invite_state"]["events"]
    assert [e["content"].get("name") for e in told if e["type"] == "m.room.name"] == [
        "Secret plans"
    ]
    assert [e["content"]["membership"] for e in told if e["type"] == "m.room.member"] == ["invite"]

    # Bob accepts (joins through Alice's server, without naming it); Carol rejects.
    await b.ok("POST", f"/join/{q(room_id)}", bob, json={})
    await b.ok("POST", f"/rooms/{q(room_id)}/leave", carol, json={})
    await a.send_text(alice, room_id, "welcome bob")
    await b.sync_until(bob, has_text(room_id, "welcome bob"))
    await b.send_text(bob, room_id, "thanks")
    await a.sync_until(alice, has_text(room_id, "thanks"))

    state = await a.ok("GET", f"/rooms/{q(room_id)}/state", alice)
    memberships = {
        e["state_key"]: e["content"]["membership"] for e in state if e["type"] == "m.room.member"
    }
    assert memberships == {alice.user_id: "join", bob.user_id: "join", carol.user_id: "leave"}
    await b.sync_until(carol, lambda body: room_id in body["rooms"]["leave"], carol_since)
    carol_sync = await b.ok("GET", "/sync", carol)
    assert room_id not in carol_sync["rooms"]["invite"]


async def test_messages_queued_for_a_stopped_server_survive_a_restart(pair: Pair) -> None:
    a, b = pair.a, pair.b
    alice = await a.register("alice")
    bob = await b.register("bob")
    room_id = (await a.ok("POST", "/createRoom", alice, json={"preset": "public_chat"}))["room_id"]
    await b.ok("POST", f"/join/{q(room_id)}", bob, json={}, params={"via": a.server.server_name})
    _, bob_since = await b.sync_until(bob, lambda body: room_id in body["rooms"]["join"])

    # B goes down; Alice keeps talking; then A restarts too (its queue is in
    # its database) and B comes back: B gets everything, once.
    b.server.stop()
    for text in ("while B was down 1", "while B was down 2"):
        await a.send_text(alice, room_id, text)
    a.server.stop()
    a.server.start()
    b.server.start()
    fresh_b = Client(b.server)
    try:
        seen: list[str] = []

        def both(body: dict) -> bool:  # type: ignore[type-arg]
            seen.extend(
                e["content"]["body"]
                for e in timeline(body, room_id)
                if e["type"] == "m.room.message"
            )
            return len(seen) >= 2

        await fresh_b.sync_until(bob, both, bob_since)
        assert seen == ["while B was down 1", "while B was down 2"]
    finally:
        await fresh_b.close()


async def test_a_missed_event_is_fetched_with_get_missing_events(pair: Pair) -> None:
    a, b = pair.a, pair.b
    alice = await a.register("alice")
    bob = await b.register("bob")
    room_id = (await a.ok("POST", "/createRoom", alice, json={"preset": "public_chat"}))["room_id"]
    await b.ok("POST", f"/join/{q(room_id)}", bob, json={}, params={"via": a.server.server_name})
    _, bob_since = await b.sync_until(bob, lambda body: room_id in body["rooms"]["join"])

    # B misses "first": it was never delivered (A's queue lost it while B was down).
    b.server.stop()
    await a.send_text(alice, room_id, "first")
    a.server.stop()
    with sqlite3.connect(a.server.data_dir / "homeserver.db") as db:
        db.execute("DELETE FROM federation_outbound_queue")
    a.server.start()
    b.server.start()
    # "second" builds on "first": B asks A for what it lacks before storing it.
    await a.send_text(alice, room_id, "second")
    seen: list[str] = []

    def both(body: dict) -> bool:  # type: ignore[type-arg]
        seen.extend(
            e["content"]["body"] for e in timeline(body, room_id) if e["type"] == "m.room.message"
        )
        return "second" in seen

    await b.sync_until(bob, both, bob_since)
    assert seen == ["first", "second"]
