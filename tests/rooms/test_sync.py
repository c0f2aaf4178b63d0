"""GET /sync: initial and incremental, invites and leaves, limits, wake-ups."""

from __future__ import annotations

import asyncio
import time

from tests.matrix_client import V3, TestClient, q


def bodies(room: dict) -> list[str]:  # type: ignore[type-arg]
    return [
        e["content"]["body"] for e in room["timeline"]["events"] if e["type"] == "m.room.message"
    ]


async def test_initial_sync_shape(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, name="Room")
    await client.send_text(alice, room_id, "hello")
    sync = await client.sync(alice)
    assert sync["next_batch"].startswith("s")
    room = sync["rooms"]["join"][room_id]
    assert bodies(room) == ["hello"]
    assert "room_id" not in room["timeline"]["events"][0]
    state_types = {e["type"] for e in room["state"]["events"]}
    timeline_types = {e["type"] for e in room["timeline"]["events"]}
    # Everything is in state or timeline; the create event appears once.
    assert "m.room.create" in state_types | timeline_types
    assert room["summary"]["m.joined_member_count"] == 1
    assert room["unread_notifications"] == {"notification_count": 0, "highlight_count": 0}


async def test_incremental_sync_only_new(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    other_room = await client.create_room(alice)
    first = await client.sync(alice)
    await client.send_text(alice, room_id, "one")
    second = await client.sync(alice, since=first["next_batch"])
    assert list(second["rooms"]["join"]) == [room_id]
    assert bodies(second["rooms"]["join"][room_id]) == ["one"]
    assert second["rooms"]["join"][room_id]["state"]["events"] == []
    third = await client.sync(alice, since=second["next_batch"])
    assert third["rooms"]["join"] == {} and third["next_batch"] == second["next_batch"]
    assert other_room not in second["rooms"]["join"]


async def test_limited_incremental_sync_brings_state_gap(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, name="Old")
    since = (await client.sync(alice))["next_batch"]
    url = f"{V3}/rooms/{q(room_id)}/state/m.room.name"
    (await client.put(url, json={"name": "New"}, token=alice.access_token)).ok()
    for i in range(5):
        await client.send_text(alice, room_id, f"m{i}")
    sync = await client.sync(alice, since=since, filter='{"room":{"timeline":{"limit":2}}}')
    room = sync["rooms"]["join"][room_id]
    assert room["timeline"]["limited"] is True
    assert bodies(room) == ["m3", "m4"]
    assert [e["content"] for e in room["state"]["events"] if e["type"] == "m.room.name"] == [
        {"name": "New"}
    ]


async def test_invite_join_leave_sections(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, name="Secret club")
    since = (await client.sync(bob))["next_batch"]
    (await client.invite(alice, room_id, bob.user_id)).ok()
    invited = await client.sync(bob, since=since)
    invite_state = invited["rooms"]["invite"][room_id]["invite_state"]["events"]
    assert {
        "type": "m.room.name",
        "state_key": "",
        "content": {"name": "Secret club"},
        "sender": alice.user_id,
    } in invite_state
    assert any(e["type"] == "m.room.member" and e["state_key"] == bob.user_id for e in invite_state)

    (await client.join(bob, room_id)).ok()
    joined = await client.sync(bob, since=invited["next_batch"])
    room = joined["rooms"]["join"][room_id]
    # A newly joined room comes with its full state.
    assert any(
        e["type"] == "m.room.name" for e in room["state"]["events"] + room["timeline"]["events"]
    )
    assert room_id not in joined["rooms"]["invite"]

    await client.send_text(alice, room_id, "before kick")
    (
        await client.post(
            f"{V3}/rooms/{q(room_id)}/kick", json={"user_id": bob.user_id}, token=alice.access_token
        )
    ).ok()
    await client.send_text(alice, room_id, "after kick")
    left = await client.sync(bob, since=joined["next_batch"])
    assert room_id in left["rooms"]["leave"]
    leave_room = left["rooms"]["leave"][room_id]
    assert bodies(leave_room) == ["before kick"]
    assert leave_room["timeline"]["events"][-1]["type"] == "m.room.member"
    assert room_id not in left["rooms"]["join"]


async def test_long_poll_wakes_on_message(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    since = (await client.sync(bob))["next_batch"]

    async def send_later() -> None:
        await asyncio.sleep(0.2)
        await client.send_text(alice, room_id, "wake up")

    started = time.monotonic()
    sender = asyncio.create_task(send_later())
    # Alice's presence (she becomes active by sending) may wake Bob first.
    sync = await client.sync(bob, since=since, timeout=20000)
    while room_id not in sync["rooms"]["join"] and time.monotonic() - started < 10:
        assert sync["presence"]["events"], "woken with nothing to say"
        sync = await client.sync(bob, since=sync["next_batch"], timeout=20000)
    await sender
    assert time.monotonic() - started < 10  # woken by the message, not the timeout
    assert bodies(sync["rooms"]["join"][room_id]) == ["wake up"]


async def test_long_poll_times_out_empty(client: TestClient) -> None:
    alice = await client.register("alice")
    since = (await client.sync(alice))["next_batch"]
    sync = await client.sync(alice, since=since, timeout=300)
    assert sync["next_batch"] == since
    assert sync["rooms"]["join"] == {}


async def test_outsider_is_not_woken_and_sees_nothing(client: TestClient) -> None:
    alice = await client.register("alice")
    eve = await client.register("eve")
    room_id = await client.create_room(alice)
    since = (await client.sync(eve))["next_batch"]
    await client.send_text(alice, room_id, "private")
    sync = await client.sync(eve, since=since, timeout=200)
    assert sync["rooms"]["join"] == {} and sync["rooms"]["invite"] == {}


async def test_bad_sync_parameters(client: TestClient) -> None:
    alice = await client.register("alice")
    url = f"{V3}/sync"
    token = alice.access_token
    (await client.get(url, token=token, query={"since": "garbage"})).error(400, "M_INVALID_PARAM")
    (await client.get(url, token=token, query={"timeout": "soon"})).error(400, "M_INVALID_PARAM")
    (await client.get(url, token=token, query={"filter": "{bad"})).error(400, "M_INVALID_PARAM")
    (await client.get(url, token=token, query={"filter": "99"})).error(400, "M_INVALID_PARAM")
    (
        await client.get(url, token=token, query={"filter": '{"room":{"timeline":{"limit":"x"}}}'})
    ).error(400, "M_BAD_JSON")
    (await client.get(url, token=token, query={"set_presence": "dancing"})).error(
        400, "M_INVALID_PARAM"
    )
    (await client.get(url)).error(401, "M_MISSING_TOKEN")


async def test_full_state_and_transaction_id(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, name="R")
    await client.send_text(alice, room_id, "x", txn_id="my-txn")
    since = (await client.sync(alice))["next_batch"]
    full = await client.sync(alice, since=since, full_state="true")
    room = full["rooms"]["join"][room_id]
    assert any(e["type"] == "m.room.name" for e in room["state"]["events"])
    initial = await client.sync(alice)
    events = initial["rooms"]["join"][room_id]["timeline"]["events"]
    mine = next(e for e in events if e["type"] == "m.room.message")
    assert mine["unsigned"]["transaction_id"] == "my-txn"


async def test_initial_sync_carries_push_rules(client: TestClient) -> None:
    alice = await client.register("alice")
    sync = await client.sync(alice)
    rules = [e for e in sync["account_data"]["events"] if e["type"] == "m.push_rules"]
    assert len(rules) == 1
    underride = {r["rule_id"] for r in rules[0]["content"]["global"]["underride"]}
    assert ".m.rule.message" in underride
    again = await client.sync(alice, since=sync["next_batch"])
    assert again["account_data"]["events"] == []
