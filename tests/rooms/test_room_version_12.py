"""Room version 12 rooms end to end: the room id is the create event's hash, the
creators' power lies outside m.room.power_levels, and every room feature works."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from homeserver.events import compute_reference_hash_event_id
from tests.matrix_client import V3, TestClient, User, q


async def state_of(client: TestClient, user: User, room_id: str) -> dict[tuple[str, str], Any]:
    events = (await client.get(f"{V3}/rooms/{q(room_id)}/state", token=user.access_token)).ok()
    return {(e["type"], e["state_key"]): e for e in events}


async def stored(client: TestClient, event_id: str) -> dict[str, Any]:
    server = client.app.extensions["homeserver"]
    event = await server.storage.events.get_event(event_id)
    assert event is not None
    return dict(event.event)


async def membership(client: TestClient, viewer: User, room_id: str, user_id: str) -> str:
    path = f"{V3}/rooms/{q(room_id)}/state/m.room.member/{q(user_id)}"
    return str((await client.get(path, token=viewer.access_token)).ok()["membership"])


async def test_room_id_is_derived_from_the_create_event(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, room_version="12", name="Twelve")
    assert room_id.startswith("!") and ":" not in room_id
    state = await state_of(client, alice, room_id)
    create = state[("m.room.create", "")]
    assert create["event_id"] == "$" + room_id[1:]
    assert create["room_id"] == room_id  # clients still see one
    assert create["content"]["room_version"] == "12"
    pdu = await stored(client, create["event_id"])
    assert "room_id" not in pdu and pdu["auth_events"] == [] and pdu["prev_events"] == []
    assert compute_reference_hash_event_id(pdu) == create["event_id"]
    assert state[("m.room.name", "")]["content"] == {"name": "Twelve"}
    joined = (await client.get(f"{V3}/joined_rooms", token=alice.access_token)).ok()
    assert joined == {"joined_rooms": [room_id]}


async def test_creator_power_is_outside_the_power_levels(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, room_version="12")
    levels = (await state_of(client, alice, room_id))[("m.room.power_levels", "")]["content"]
    assert alice.user_id not in levels["users"]
    assert levels["events"]["m.room.tombstone"] == 150
    # The creator can still do what needs power, even above 100.
    path = f"{V3}/rooms/{q(room_id)}/state/m.room.tombstone"
    body = {"body": "moved", "replacement_room": "!elsewhere"}
    (await client.put(path, json=body, token=alice.access_token)).ok()
    # ... but not list herself in the power levels.
    path = f"{V3}/rooms/{q(room_id)}/state/m.room.power_levels"
    listed = {**levels, "users": {alice.user_id: 100}}
    (await client.put(path, json=listed, token=alice.access_token)).error(403, "M_FORBIDDEN")


async def test_messages_auth_events_leave_out_the_create_event(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, room_version="12")
    event = await stored(client, await client.send_text(alice, room_id, "hi"))
    assert len(event["auth_events"]) == 2  # power levels and the sender's membership
    assert "$" + room_id[1:] not in event["auth_events"]
    assert event["room_id"] == room_id


async def test_membership_power_levels_and_history(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    carol = await client.register("carol")
    room_id = await client.create_room(alice, room_version="12", preset="public_chat")
    await client.send_text(alice, room_id, "before bob")
    (await client.join(bob, room_id)).ok()
    (await client.join(carol, room_id)).ok()
    bob_msg = await client.send_text(bob, room_id, "hello from bob")

    # Bob cannot kick; Alice (creator) promotes him and then he can kick Carol.
    kick = f"{V3}/rooms/{q(room_id)}/kick"
    (await client.post(kick, json={"user_id": carol.user_id}, token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    levels_path = f"{V3}/rooms/{q(room_id)}/state/m.room.power_levels"
    levels = (await client.get(levels_path, token=alice.access_token)).ok()
    levels["users"] = {bob.user_id: 50}
    (await client.put(levels_path, json=levels, token=alice.access_token)).ok()
    (await client.post(kick, json={"user_id": carol.user_id}, token=bob.access_token)).ok()
    assert await membership(client, alice, room_id, carol.user_id) == "leave"
    # Nobody can kick or ban a creator.
    (await client.post(kick, json={"user_id": alice.user_id}, token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    ban = f"{V3}/rooms/{q(room_id)}/ban"
    (await client.post(ban, json={"user_id": alice.user_id}, token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    # Alice bans Carol; Carol cannot come back.
    (await client.post(ban, json={"user_id": carol.user_id}, token=alice.access_token)).ok()
    (await client.join(carol, room_id)).error(403, "M_FORBIDDEN")

    # Redaction by the creator of Bob's message.
    redact = f"{V3}/rooms/{q(room_id)}/redact/{q(bob_msg)}/r1"
    (await client.put(redact, json={}, token=alice.access_token)).ok()
    fetched = (
        await client.get(f"{V3}/rooms/{q(room_id)}/event/{q(bob_msg)}", token=bob.access_token)
    ).ok()
    assert fetched["content"] == {}

    # /messages pages back through everything, the create event included.
    page = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/messages",
            token=bob.access_token,
            query={"dir": "b", "limit": "100"},
        )
    ).ok()
    types = [e["type"] for e in page["chunk"]]
    assert types[-1] == "m.room.create" and page["chunk"][-1]["room_id"] == room_id
    bodies = [e["content"].get("body") for e in page["chunk"] if e["type"] == "m.room.message"]
    assert "before bob" in bodies

    # Bob leaves.
    (await client.post(f"{V3}/rooms/{q(room_id)}/leave", json={}, token=bob.access_token)).ok()
    assert await membership(client, alice, room_id, bob.user_id) == "leave"


async def test_invite_and_sync(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, room_version="12", name="Private")
    first = await client.sync(bob)
    (await client.invite(alice, room_id, bob.user_id)).ok()
    invited = await client.sync(bob, since=first["next_batch"])
    assert room_id in invited["rooms"]["invite"]
    (await client.join(bob, room_id)).ok()
    await client.send_text(alice, room_id, "welcome")
    joined = await client.sync(bob, since=invited["next_batch"])
    room = joined["rooms"]["join"][room_id]
    bodies = [e["content"].get("body") for e in room["timeline"]["events"]]
    assert "welcome" in bodies
    full = await client.sync(bob)
    state = full["rooms"]["join"][room_id]["state"]["events"]
    timeline = full["rooms"]["join"][room_id]["timeline"]["events"]
    create = [e for e in state + timeline if e["type"] == "m.room.create"]
    assert create and create[0]["event_id"] == "$" + room_id[1:]


async def test_trusted_private_chat_makes_invitees_creators(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(
        alice, room_version="12", preset="trusted_private_chat", invite=[bob.user_id]
    )
    state = await state_of(client, alice, room_id)
    assert state[("m.room.create", "")]["content"]["additional_creators"] == [bob.user_id]
    assert bob.user_id not in state[("m.room.power_levels", "")]["content"]["users"]
    (await client.join(bob, room_id)).ok()
    # As a creator Bob may change the power levels.
    path = f"{V3}/rooms/{q(room_id)}/state/m.room.power_levels"
    levels = state[("m.room.power_levels", "")]["content"]
    (await client.put(path, json={**levels, "ban": 20}, token=bob.access_token)).ok()


@pytest.mark.parametrize(
    ("body", "status", "errcode"),
    [
        ({"room_version": "13"}, 400, "M_UNSUPPORTED_ROOM_VERSION"),
        ({"room_version": 12}, 400, "M_UNSUPPORTED_ROOM_VERSION"),
        (
            {"room_version": "12", "creation_content": {"additional_creators": "x"}},
            400,
            "M_BAD_JSON",
        ),
        (
            {"room_version": "12", "creation_content": {"additional_creators": ["nope"]}},
            400,
            "M_BAD_JSON",
        ),
    ],
)
async def test_invalid_v12_requests(
    client: TestClient, body: dict[str, Any], status: int, errcode: str
) -> None:
    alice = await client.register("alice")
    (await client.post(f"{V3}/createRoom", json=body, token=alice.access_token)).error(
        status, errcode
    )


async def test_power_override_may_not_list_the_creator(client: TestClient) -> None:
    alice = await client.register("alice")
    body = {
        "room_version": "12",
        "power_level_content_override": {"users": {alice.user_id: 100}},
    }
    (await client.post(f"{V3}/createRoom", json=body, token=alice.access_token)).error(
        400, "M_INVALID_PARAM"
    )
    joined = (await client.get(f"{V3}/joined_rooms", token=alice.access_token)).ok()
    assert joined == {"joined_rooms": []}


async def test_additional_creators_from_creation_content(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(
        alice,
        room_version="12",
        preset="public_chat",
        creation_content={"additional_creators": [bob.user_id]},
    )
    (await client.join(bob, room_id)).ok()
    ban = f"{V3}/rooms/{q(room_id)}/ban"
    (await client.post(ban, json={"user_id": alice.user_id}, token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    topic = f"{V3}/rooms/{q(room_id)}/state/m.room.topic"
    (await client.put(topic, json={"topic": "set by a creator"}, token=bob.access_token)).ok()


async def test_version_12_is_the_default_and_11_can_be_asked_for(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    assert room_id.startswith("!") and ":" not in room_id
    state = await state_of(client, alice, room_id)
    assert state[("m.room.create", "")]["content"]["room_version"] == "12"
    assert alice.user_id not in state[("m.room.power_levels", "")]["content"]["users"]

    room_id = await client.create_room(alice, room_version="11")
    assert room_id.endswith(":localhost")
    state = await state_of(client, alice, room_id)
    assert state[("m.room.create", "")]["content"]["room_version"] == "11"
    assert state[("m.room.power_levels", "")]["content"]["users"] == {alice.user_id: 100}


async def test_typing_receipts_context_and_members(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, room_version="12", preset="public_chat")
    (await client.join(bob, room_id)).ok()
    since = (await client.sync(bob))["next_batch"]
    typing = f"{V3}/rooms/{q(room_id)}/typing/{q(alice.user_id)}"
    (
        await client.put(typing, json={"typing": True, "timeout": 30000}, token=alice.access_token)
    ).ok()
    event_id = await client.send_text(alice, room_id, "read me")
    receipt = f"{V3}/rooms/{q(room_id)}/receipt/m.read/{q(event_id)}"
    (await client.post(receipt, json={}, token=bob.access_token)).ok()
    synced = await client.sync(alice, since=since)
    ephemeral = synced["rooms"]["join"][room_id]["ephemeral"]["events"]
    receipts = [e for e in ephemeral if e["type"] == "m.receipt"]
    assert receipts and bob.user_id in receipts[0]["content"][event_id]["m.read"]
    context = (
        await client.get(f"{V3}/rooms/{q(room_id)}/context/{q(event_id)}", token=bob.access_token)
    ).ok()
    assert context["event"]["event_id"] == event_id
    members = (
        await client.get(f"{V3}/rooms/{q(room_id)}/joined_members", token=bob.access_token)
    ).ok()
    assert set(members["joined"]) == {alice.user_id, bob.user_id}


async def test_same_rooms_created_at_once_get_distinct_ids(client: TestClient) -> None:
    """The same user creating rooms with the same content at the same moment
    (the create events would hash alike): every one is created, each its own."""
    alice = await client.register("alice")
    body = {"room_version": "12", "preset": "public_chat"}
    responses = await asyncio.gather(
        *(client.post(f"{V3}/createRoom", json=body, token=alice.access_token) for _ in range(8))
    )
    assert [r.status for r in responses] == [200] * 8
    assert len({r.body["room_id"] for r in responses}) == 8
