"""Two real servers that cannot reach each other for a while, each changing
the room's state meanwhile, end with the same state (state resolution v2 on
both sides); and what one side does to the other's users — edits,
redactions, kicks, bans, a server ACL — takes effect on both."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.federation.two_servers import Account, Client, Pair, has_text, q, timeline

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
    pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="runs in the SQLite pass"),
]

# A queue that failed while its destination was down retries after a back-off
# of a few seconds; a minute covers it on a loaded machine.
CONVERGE_SECONDS = 60.0


async def state_of(client: Client, account: Account, room_id: str) -> dict[tuple[str, str], Any]:
    events = await client.ok("GET", f"/rooms/{q(room_id)}/state", account)
    return {(e["type"], e["state_key"]): e["event_id"] for e in events}


async def shared_room(pair: Pair, bob_power: int) -> tuple[Account, Account, str]:
    """Alice on A creates a room (version 11, so that Bob on B can be given
    as much power as Alice) and Bob joins it from B."""
    a, b = pair.a, pair.b
    alice = await a.register("alice")
    bob = await b.register("bob")
    body = {
        "preset": "public_chat",
        "room_version": "11",
        "power_level_content_override": {"users": {alice.user_id: 100, bob.user_id: bob_power}},
    }
    room_id = (await a.ok("POST", "/createRoom", alice, json=body))["room_id"]
    await b.ok("POST", f"/join/{q(room_id)}", bob, json={}, params={"via": a.server.server_name})
    await b.sync_until(bob, lambda sync: room_id in sync["rooms"]["join"])
    await a.send_text(alice, room_id, "both here")
    await b.sync_until(bob, has_text(room_id, "both here"))
    return alice, bob, room_id


async def test_state_changed_on_both_sides_while_apart_converges(pair: Pair) -> None:
    a, b = pair.a, pair.b
    alice, bob, room_id = await shared_room(pair, bob_power=100)

    # Apart: A changes the topic while B is down ...
    b.server.stop()
    await a.ok("PUT", f"/rooms/{q(room_id)}/state/m.room.topic", alice, json={"topic": "A's"})
    await a.send_text(alice, room_id, "from A, apart")
    # ... then B, with A down, changes the topic and the power levels.
    a.server.stop()
    b.server.start()
    await b.ok("PUT", f"/rooms/{q(room_id)}/state/m.room.topic", bob, json={"topic": "B's"})
    levels = await b.ok("GET", f"/rooms/{q(room_id)}/state/m.room.power_levels", bob)
    levels["events_default"] = 10
    await b.ok("PUT", f"/rooms/{q(room_id)}/state/m.room.power_levels", bob, json=levels)
    await b.send_text(bob, room_id, "from B, apart")

    # Together again: each receives the other's fork and resolves it.
    a.server.start()
    end = time.monotonic() + CONVERGE_SECONDS
    while True:
        on_a, on_b = await state_of(a, alice, room_id), await state_of(b, bob, room_id)
        if on_a == on_b:
            break
        assert time.monotonic() < end, f"state did not converge:\nA {on_a}\nB {on_b}"
        await asyncio.sleep(0.5)
    topic_a = await a.ok("GET", f"/rooms/{q(room_id)}/state/m.room.topic", alice)
    topic_b = await b.ok("GET", f"/rooms/{q(room_id)}/state/m.room.topic", bob)
    assert topic_a == topic_b and topic_a["topic"] in {"A's", "B's"}
    # B's power levels change did not conflict with anything: both keep it.
    levels_a = await a.ok("GET", f"/rooms/{q(room_id)}/state/m.room.power_levels", alice)
    assert levels_a["events_default"] == 10
    # Both messages sent apart reached the other side.
    for client, account, text in ((a, alice, "from B, apart"), (b, bob, "from A, apart")):
        page = await client.ok(
            "GET", f"/rooms/{q(room_id)}/messages", account, params={"dir": "b", "limit": "30"}
        )
        assert text in [e.get("content", {}).get("body") for e in page["chunk"]]


async def test_edits_redactions_kicks_bans_and_acl_take_effect_on_both(pair: Pair) -> None:
    a, b = pair.a, pair.b
    alice, bob, room_id = await shared_room(pair, bob_power=0)
    _, alice_since = await a.sync_until(alice, lambda sync: True)

    # Bob edits his message on B; Alice sees the replacement on A.
    original = await b.send_text(bob, room_id, "helo")
    edit = {
        "msgtype": "m.text",
        "body": "* hello",
        "m.new_content": {"msgtype": "m.text", "body": "hello"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    }
    await b.ok("PUT", f"/rooms/{q(room_id)}/send/m.room.message/edit1", bob, json=edit)
    body, alice_since = await a.sync_until(alice, has_text(room_id, "* hello"), alice_since)
    (edited,) = [e for e in timeline(body, room_id) if e["content"].get("body") == "* hello"]
    assert edited["content"]["m.relates_to"] == {"rel_type": "m.replace", "event_id": original}
    assert edited["content"]["m.new_content"]["body"] == "hello"

    # Alice (an admin) redacts Bob's message on A; B holds it redacted.
    await a.ok("PUT", f"/rooms/{q(room_id)}/redact/{q(original)}/r1", alice, json={})
    end = time.monotonic() + 30
    while (await b.ok("GET", f"/rooms/{q(room_id)}/event/{q(original)}", bob))["content"]:
        assert time.monotonic() < end, "the redaction did not reach B"
        await asyncio.sleep(0.2)

    # A kick on A ends Bob's membership on B too; he may come back.
    await a.ok("POST", f"/rooms/{q(room_id)}/kick", alice, json={"user_id": bob.user_id})
    await b.sync_until(bob, lambda sync: room_id in sync["rooms"]["leave"])
    await b.ok("POST", f"/join/{q(room_id)}", bob, json={}, params={"via": a.server.server_name})
    await a.sync_until(
        alice,
        lambda sync: any(
            e["type"] == "m.room.member"
            and e["state_key"] == bob.user_id
            and e["content"]["membership"] == "join"
            for e in timeline(sync, room_id)
        ),
        alice_since,
    )

    # A ban keeps him out: B's server cannot join him again.
    await a.ok("POST", f"/rooms/{q(room_id)}/ban", alice, json={"user_id": bob.user_id})
    await b.sync_until(bob, lambda sync: room_id in sync["rooms"]["leave"])
    again = await b.call(
        "POST", f"/join/{q(room_id)}", bob, json={}, params={"via": a.server.server_name}
    )
    assert again.status_code == 403, again.text

    # A server ACL shuts B out: another of its users cannot join.
    carol = await b.register("carol")
    acl = {"allow": ["*"], "deny": [b.server.address], "allow_ip_literals": True}
    await a.ok("PUT", f"/rooms/{q(room_id)}/state/m.room.server_acl", alice, json=acl)
    refused = await b.call(
        "POST", f"/join/{q(room_id)}", carol, json={}, params={"via": a.server.server_name}
    )
    assert refused.status_code == 403, refused.text
    members = await a.ok("GET", f"/rooms/{q(room_id)}/joined_members", alice)
    assert set(members["joined"]) == {alice.user_id}
