"""Rooms shared with Synapse: our server (127.0.0.1) and a stock Synapse
1.163.2 (127.0.0.2) on loopback over TLS with a throwaway CA, both driven
through their client APIs. A Synapse user joins rooms of ours (by alias and
by room id), one of ours joins a room Synapse creates (room version 12, its
default); messages, typing and read receipts go both ways; leaves reach the
other side.

One Synapse and one server of ours serve the whole module (Synapse takes
seconds to start); each test uses its own users and rooms."""

from __future__ import annotations

import itertools
import shutil
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.federation.servers import (
    SERVERS_KEY,
    FederatingServer,
    start_federating_server,
    wait_for_federation,
)
from tests.federation.synapse_peer import Synapse, running_with_synapse
from tests.federation.tls import TestCA
from tests.federation.two_servers import (
    Account,
    Client,
    ephemeral,
    has_text,
    message_bodies,
    page_back,
    q,
    timeline,
)

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
    # Both processes keep their own SQLite files whatever the database of the
    # run: once (in the SQLite pass) is enough.
    pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="runs in the SQLite pass"),
]

_names = itertools.count(1)


@dataclass
class Peers:
    ours: FederatingServer
    synapse: Synapse
    ca_file: Path
    tls: TestCA


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    root = tmp_path_factory.mktemp("ours_and_synapse")
    tls_dir = root / "tls"
    tls_dir.mkdir()
    tls = TestCA(tls_dir)
    with running_with_synapse(root, tls, f"sqlite+aiosqlite:///{root}/ours.db") as running:
        ours, synapse = running
        yield Peers(ours, synapse, tls.ca_file, tls)


@dataclass
class Sides:
    ours: Client
    synapse: Client
    synapse_name: str
    our_name: str


@pytest.fixture
async def sides(request: pytest.FixtureRequest, peers: Peers) -> Any:
    request.node.stash[SERVERS_KEY] = [peers.ours, peers.synapse]
    ours, synapse = Client(peers.ours), Client(peers.synapse)
    try:
        yield Sides(ours, synapse, peers.synapse.server_name, peers.ours.server_name)
    finally:
        await ours.close()
        await synapse.close()


async def fresh_user(client: Client, stem: str) -> Account:
    return await client.register(f"{stem}{next(_names)}")


def rooms(body: dict[str, Any], section: str) -> dict[str, Any]:
    """A /sync section (Synapse leaves out the empty ones)."""
    return dict(body.get("rooms", {}).get(section, {}))


def membership_seen(
    room_id: str, user_id: str, membership: str
) -> Callable[[dict[str, Any]], bool]:
    def check(body: dict[str, Any]) -> bool:
        sections = [timeline(body, room_id, "join"), timeline(body, room_id, "leave")]
        return any(
            e["type"] == "m.room.member"
            and e.get("state_key") == user_id
            and e["content"].get("membership") == membership
            for events in sections
            for e in events
        )

    return check


def typing_and_receipt(
    room_id: str, user_id: str, event_id: str
) -> Callable[[dict[str, Any]], bool]:
    seen: set[str] = set()

    def check(body: dict[str, Any]) -> bool:
        for e in ephemeral(body, room_id):
            if e["type"] == "m.typing" and user_id in e["content"]["user_ids"]:
                seen.add("typing")
            if e["type"] == "m.receipt":
                readers = e["content"].get(event_id, {}).get("m.read", {})
                if user_id in readers:
                    seen.add("receipt")
        return seen == {"typing", "receipt"}

    return check


async def type_and_read(client: Client, user: Account, room_id: str, event_id: str) -> None:
    await client.ok(
        "PUT",
        f"/rooms/{q(room_id)}/typing/{q(user.user_id)}",
        user,
        json={"typing": True, "timeout": 30000},
    )
    await client.ok("POST", f"/rooms/{q(room_id)}/receipt/m.read/{q(event_id)}", user, json={})


async def converse(here: Client, me: Account, there: Client, them: Account, room_id: str) -> None:
    """`them` has just joined `me`'s room: the join shows on both sides, then
    messages, typing and read receipts go both ways."""
    _, my_since = await here.sync_until(me, membership_seen(room_id, them.user_id, "join"))
    _, their_since = await there.sync_until(them, lambda b: room_id in rooms(b, "join"))

    theirs = await there.send_text(them, room_id, f"hello from {them.user_id}")
    _, my_since = await here.sync_until(
        me, has_text(room_id, f"hello from {them.user_id}"), my_since
    )
    mine = await here.send_text(me, room_id, f"hello from {me.user_id}")
    _, their_since = await there.sync_until(
        them, has_text(room_id, f"hello from {me.user_id}"), their_since
    )

    await type_and_read(here, me, room_id, mine)
    await there.sync_until(them, typing_and_receipt(room_id, me.user_id, mine), their_since)
    await type_and_read(there, them, room_id, theirs)
    await here.sync_until(me, typing_and_receipt(room_id, them.user_id, theirs), my_since)

    # Both servers hold the same current state of the room.
    mine_state = await here.ok("GET", f"/rooms/{q(room_id)}/state", me)
    their_state = await there.ok("GET", f"/rooms/{q(room_id)}/state", them)
    assert {(e["type"], e["state_key"]): e["event_id"] for e in mine_state} == {
        (e["type"], e["state_key"]): e["event_id"] for e in their_state
    }


async def leave_seen_across(
    here: Client, me: Account, there: Client, them: Account, room_id: str
) -> None:
    """`them` leaves `me`'s room: both sides see the leave, `me` is alone."""
    their_since = (await there.ok("GET", "/sync", them, params={"timeout": "0"}))["next_batch"]
    await there.ok("POST", f"/rooms/{q(room_id)}/leave", them, json={})
    await here.sync_until(me, membership_seen(room_id, them.user_id, "leave"))
    members = await here.ok("GET", f"/rooms/{q(room_id)}/joined_members", me)
    assert list(members["joined"]) == [me.user_id]
    await there.sync_until(them, lambda b: room_id in rooms(b, "leave"), their_since)


async def test_synapse_user_joins_our_room_by_alias(sides: Sides) -> None:
    alice = await fresh_user(sides.ours, "alice")
    bob = await fresh_user(sides.synapse, "bob")
    stem = f"lobby{next(_names)}"
    created = await sides.ours.ok(
        "POST", "/createRoom", alice, json={"preset": "public_chat", "room_alias_name": stem}
    )
    room_id = created["room_id"]
    joined = await sides.synapse.ok("POST", f"/join/{q(f'#{stem}:{sides.our_name}')}", bob, json={})
    assert joined["room_id"] == room_id
    await converse(sides.ours, alice, sides.synapse, bob, room_id)
    await leave_seen_across(sides.ours, alice, sides.synapse, bob, room_id)


async def test_synapse_user_joins_our_room_by_id(sides: Sides) -> None:
    alice = await fresh_user(sides.ours, "alice")
    bob = await fresh_user(sides.synapse, "bob")
    room = await sides.ours.ok("POST", "/createRoom", alice, json={"preset": "public_chat"})
    room_id = room["room_id"]
    joined = await sides.synapse.ok(
        "POST", f"/join/{q(room_id)}", bob, json={}, params={"via": sides.our_name}
    )
    assert joined["room_id"] == room_id
    # Our rooms are version 12 by default (ids without a server part): Synapse
    # holds the same create event.
    assert ":" not in room_id
    create = await sides.synapse.ok("GET", f"/rooms/{q(room_id)}/state/m.room.create/", bob)
    assert create["room_version"] == "12"
    await converse(sides.ours, alice, sides.synapse, bob, room_id)
    await leave_seen_across(sides.ours, alice, sides.synapse, bob, room_id)


async def test_our_user_joins_a_synapse_room(sides: Sides) -> None:
    bob = await fresh_user(sides.synapse, "bob")
    alice = await fresh_user(sides.ours, "alice")
    stem = f"theirs{next(_names)}"
    created = await sides.synapse.ok(
        "POST", "/createRoom", bob, json={"preset": "public_chat", "room_alias_name": stem}
    )
    room_id = created["room_id"]
    state = await sides.synapse.ok("GET", f"/rooms/{q(room_id)}/state/m.room.create/", bob)
    assert state["room_version"] == "12"  # Synapse's default
    joined = await sides.ours.ok(
        "POST", f"/join/{q(room_id)}", alice, json={}, params={"via": sides.synapse_name}
    )
    assert joined["room_id"] == room_id
    await converse(sides.synapse, bob, sides.ours, alice, room_id)
    await leave_seen_across(sides.synapse, bob, sides.ours, alice, room_id)


async def test_our_user_joins_a_synapse_room_by_alias(sides: Sides) -> None:
    bob = await fresh_user(sides.synapse, "bob")
    alice = await fresh_user(sides.ours, "alice")
    stem = f"theirs{next(_names)}"
    created = await sides.synapse.ok(
        "POST", "/createRoom", bob, json={"preset": "public_chat", "room_alias_name": stem}
    )
    room_id = created["room_id"]
    alias = f"#{stem}:{sides.synapse_name}"
    joined = await sides.ours.ok("POST", f"/join/{q(alias)}", alice, json={})
    assert joined["room_id"] == room_id
    await sides.ours.send_text(alice, room_id, "joined by alias")
    await sides.synapse.sync_until(bob, has_text(room_id, "joined by alias"))


def presence_of(user_id: str, status_msg: str) -> Callable[[dict[str, Any]], bool]:
    def check(body: dict[str, Any]) -> bool:
        return any(
            e.get("sender") == user_id and e["content"].get("status_msg") == status_msg
            for e in body.get("presence", {}).get("events", [])
        )

    return check


async def test_presence_both_ways(sides: Sides) -> None:
    alice = await fresh_user(sides.ours, "alice")
    bob = await fresh_user(sides.synapse, "bob")
    room = await sides.ours.ok("POST", "/createRoom", alice, json={"preset": "public_chat"})
    room_id = room["room_id"]
    await sides.synapse.ok(
        "POST", f"/join/{q(room_id)}", bob, json={}, params={"via": sides.our_name}
    )
    _, alice_since = await sides.ours.sync_until(
        alice, membership_seen(room_id, bob.user_id, "join")
    )
    _, bob_since = await sides.synapse.sync_until(bob, lambda b: room_id in rooms(b, "join"))

    body = {"presence": "online", "status_msg": "on synapse"}
    await sides.synapse.ok("PUT", f"/presence/{q(bob.user_id)}/status", bob, json=body)
    await sides.ours.sync_until(alice, presence_of(bob.user_id, "on synapse"), alice_since)

    body = {"presence": "unavailable", "status_msg": "on ours"}
    await sides.ours.ok("PUT", f"/presence/{q(alice.user_id)}/status", alice, json=body)
    found, _ = await sides.synapse.sync_until(bob, presence_of(alice.user_id, "on ours"), bob_since)
    (event,) = [e for e in found["presence"]["events"] if e["sender"] == alice.user_id]
    assert event["content"]["presence"] == "unavailable"


async def test_invites_both_ways(sides: Sides) -> None:
    alice = await fresh_user(sides.ours, "alice")
    bob = await fresh_user(sides.synapse, "bob")

    def invited(room_id: str) -> Callable[[dict[str, Any]], bool]:
        return lambda body: room_id in rooms(body, "invite")

    # Bob (Synapse) invites Alice to his private room; she accepts.
    body = {"preset": "private_chat", "name": "Bob's den"}
    theirs = (await sides.synapse.ok("POST", "/createRoom", bob, json=body))["room_id"]
    await sides.synapse.ok(
        "POST", f"/rooms/{q(theirs)}/invite", bob, json={"user_id": alice.user_id}
    )
    got, _ = await sides.ours.sync_until(alice, invited(theirs))
    # Synapse's invite_room_state: Alice sees the room's name before joining.
    told = got["rooms"]["invite"][theirs]["invite_state"]["events"]
    names = [e["content"].get("name") for e in told if e["type"] == "m.room.name"]
    assert names == ["Bob's den"]
    await sides.ours.ok("POST", f"/join/{q(theirs)}", alice, json={})
    await sides.ours.send_text(alice, theirs, "accepted on ours")
    await sides.synapse.sync_until(bob, has_text(theirs, "accepted on ours"))

    # Alice invites Bob to hers; he accepts.
    ours = (await sides.ours.ok("POST", "/createRoom", alice, json={"preset": "private_chat"}))[
        "room_id"
    ]
    await sides.ours.ok("POST", f"/rooms/{q(ours)}/invite", alice, json={"user_id": bob.user_id})
    await sides.synapse.sync_until(bob, invited(ours))
    await sides.synapse.ok("POST", f"/join/{q(ours)}", bob, json={})
    await sides.synapse.send_text(bob, ours, "accepted on synapse")
    await sides.ours.sync_until(alice, has_text(ours, "accepted on synapse"))


async def test_kick_and_ban_take_effect_on_both_sides(sides: Sides) -> None:
    alice = await fresh_user(sides.ours, "alice")
    bob = await fresh_user(sides.synapse, "bob")
    carol = await fresh_user(sides.synapse, "carol")
    # Synapse's room: Bob kicks Alice, she rejoins, he bans her.
    theirs = (await sides.synapse.ok("POST", "/createRoom", bob, json={"preset": "public_chat"}))[
        "room_id"
    ]
    via = {"via": sides.synapse_name}
    await sides.ours.ok("POST", f"/join/{q(theirs)}", alice, json={}, params=via)
    await sides.synapse.ok("POST", f"/rooms/{q(theirs)}/kick", bob, json={"user_id": alice.user_id})
    await sides.ours.sync_until(alice, lambda b: theirs in rooms(b, "leave"))
    await sides.ours.ok("POST", f"/join/{q(theirs)}", alice, json={}, params=via)
    await sides.synapse.ok("POST", f"/rooms/{q(theirs)}/ban", bob, json={"user_id": alice.user_id})
    await sides.ours.sync_until(alice, membership_seen(theirs, alice.user_id, "ban"))
    refused = await sides.ours.call("POST", f"/join/{q(theirs)}", alice, json={}, params=via)
    assert refused.status_code == 403, refused.text

    # Our room: Alice bans Carol (Synapse); Synapse holds the ban too.
    ours = (await sides.ours.ok("POST", "/createRoom", alice, json={"preset": "public_chat"}))[
        "room_id"
    ]
    await sides.synapse.ok(
        "POST", f"/join/{q(ours)}", carol, json={}, params={"via": sides.our_name}
    )
    await sides.ours.sync_until(alice, membership_seen(ours, carol.user_id, "join"))
    await sides.ours.ok("POST", f"/rooms/{q(ours)}/ban", alice, json={"user_id": carol.user_id})
    await sides.synapse.sync_until(carol, membership_seen(ours, carol.user_id, "ban"))


async def test_our_server_down_while_synapse_sends(sides: Sides, peers: Peers) -> None:
    """Our server is stopped while Bob (Synapse) talks; once it is back and
    one of ours speaks (which tells Synapse we are up), Alice has every
    message, once each."""
    alice = await fresh_user(sides.ours, "alice")
    bob = await fresh_user(sides.synapse, "bob")
    room_id = (await sides.synapse.ok("POST", "/createRoom", bob, json={"preset": "public_chat"}))[
        "room_id"
    ]
    await sides.ours.ok(
        "POST", f"/join/{q(room_id)}", alice, json={}, params={"via": sides.synapse_name}
    )
    _, alice_since = await sides.ours.sync_until(alice, lambda b: room_id in rooms(b, "join"))

    peers.ours.stop()
    for text in ("while ours was down 1", "while ours was down 2"):
        await sides.synapse.send_text(bob, room_id, text)
    peers.ours.start()
    wait_for_federation(peers.ours, ssl.create_default_context(cafile=str(peers.ca_file)))
    back = Client(peers.ours)
    try:
        await back.send_text(alice, room_id, "back")
        await sides.synapse.sync_until(bob, has_text(room_id, "back"))
        await sides.synapse.send_text(bob, room_id, "after")
        seen: list[str] = []

        def all_arrived(body: dict[str, Any]) -> bool:
            seen.extend(
                e["content"]["body"]
                for e in timeline(body, room_id)
                if e["type"] == "m.room.message" and e["sender"] == bob.user_id
            )
            return "after" in seen

        await back.sync_until(alice, all_arrived, alice_since, deadline=60)
        assert seen == ["while ours was down 1", "while ours was down 2", "after"]
    finally:
        await back.close()


async def test_joining_a_synapse_room_pages_back_through_its_history(sides: Sides) -> None:
    """Bob's room on Synapse has history (shared visibility) when Alice (ours)
    joins: her /messages pages back through all of it, fetched from Synapse
    with /backfill, in order and once each."""
    alice = await fresh_user(sides.ours, "alice")
    bob = await fresh_user(sides.synapse, "bob")
    room_id = (await sides.synapse.ok("POST", "/createRoom", bob, json={"preset": "public_chat"}))[
        "room_id"
    ]
    await sides.synapse.ok(
        "PUT",
        f"/rooms/{q(room_id)}/state/m.room.history_visibility/",
        bob,
        json={"history_visibility": "shared"},
    )
    for n in range(1, 26):
        await sides.synapse.send_text(bob, room_id, f"before {n}")
    await sides.ours.ok(
        "POST", f"/join/{q(room_id)}", alice, json={}, params={"via": sides.synapse_name}
    )
    await sides.synapse.send_text(bob, room_id, "after")
    await sides.ours.sync_until(alice, has_text(room_id, "after"))

    events, _ = await page_back(sides.ours, alice, room_id)
    assert message_bodies(events) == ["after", *(f"before {n}" for n in range(25, 0, -1))]
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids)), "an event came twice"
    # Synapse holds the same room: every event it shows Bob, Alice sees too.
    on_synapse, _ = await page_back(sides.synapse, bob, room_id)
    assert {e["event_id"] for e in on_synapse} <= set(ids)


async def test_joined_history_of_a_synapse_room_stays_hidden(sides: Sides) -> None:
    """Under `joined` visibility, Alice (ours) joining Bob's Synapse room sees
    nothing from before her join, however far she pages back."""
    alice = await fresh_user(sides.ours, "alice")
    bob = await fresh_user(sides.synapse, "bob")
    room_id = (await sides.synapse.ok("POST", "/createRoom", bob, json={"preset": "public_chat"}))[
        "room_id"
    ]
    await sides.synapse.ok(
        "PUT",
        f"/rooms/{q(room_id)}/state/m.room.history_visibility/",
        bob,
        json={"history_visibility": "joined"},
    )
    for n in range(1, 6):
        await sides.synapse.send_text(bob, room_id, f"hidden {n}")
    await sides.ours.ok(
        "POST", f"/join/{q(room_id)}", alice, json={}, params={"via": sides.synapse_name}
    )
    await sides.synapse.send_text(bob, room_id, "after")
    await sides.ours.sync_until(alice, has_text(room_id, "after"))
    events, _ = await page_back(sides.ours, alice, room_id)
    assert message_bodies(events) == ["after"]
    hidden = [e for e in events if e["type"] == "m.room.message" and e["content"] == {}]
    assert hidden == []


async def test_synapse_down_while_ours_sends(sides: Sides, peers: Peers, tmp_path: Path) -> None:
    """Synapse is stopped while Alice (ours) talks in a room shared with Bob
    (Synapse) and Carol (a second server of ours): Carol gets every message
    while Synapse is still down (a dead destination delays no other); once
    Synapse is back, our queue's retries deliver every message to Bob, once
    each and in order."""
    alice = await fresh_user(sides.ours, "alice")
    bob = await fresh_user(sides.synapse, "bob")
    other = start_federating_server(
        tmp_path, 2, "127.0.0.3", f"sqlite+aiosqlite:///{tmp_path}/other.db", peers.tls
    )
    carol_side = Client(other)
    try:
        wait_for_federation(other, ssl.create_default_context(cafile=str(peers.ca_file)))
        carol = await carol_side.register("carol")
        room_id = (
            await sides.ours.ok("POST", "/createRoom", alice, json={"preset": "public_chat"})
        )["room_id"]
        via = {"via": sides.our_name}
        await sides.synapse.ok("POST", f"/join/{q(room_id)}", bob, json={}, params=via)
        await carol_side.ok("POST", f"/join/{q(room_id)}", carol, json={}, params=via)
        await sides.ours.send_text(alice, room_id, "before")
        _, bob_since = await sides.synapse.sync_until(bob, has_text(room_id, "before"))
        _, carol_since = await carol_side.sync_until(carol, has_text(room_id, "before"))

        peers.synapse.stop()
        sent = [f"while synapse was down {n}" for n in range(1, 6)]
        for text in sent:
            await sides.ours.send_text(alice, room_id, text)

        def collector(account: Account) -> tuple[list[str], Callable[[dict[str, Any]], bool]]:
            seen: list[str] = []

            def check(body: dict[str, Any]) -> bool:
                seen.extend(
                    e["content"]["body"]
                    for e in timeline(body, room_id)
                    if e["type"] == "m.room.message" and e["sender"] == alice.user_id
                )
                return sent[-1] in seen

            return seen, check

        carol_seen, carol_check = collector(carol)
        await carol_side.sync_until(carol, carol_check, carol_since, deadline=60)
        assert carol_seen == sent
        assert peers.synapse.process is not None and peers.synapse.process.poll() is not None

        peers.synapse.start()
        bob_seen, bob_check = collector(bob)
        await sides.synapse.sync_until(bob, bob_check, bob_since, deadline=120)
        assert bob_seen == sent
    finally:
        await carol_side.close()
        other.kill()
        if peers.synapse.process is None or peers.synapse.process.poll() is not None:
            peers.synapse.start()
