"""POST /createRoom: presets, options, validation, and the resulting DAG."""

from __future__ import annotations

from typing import Any

from tests.matrix_client import V3, TestClient, User, q


async def state_of(client: TestClient, user: User, room_id: str) -> dict[tuple[str, str], Any]:
    events = (await client.get(f"{V3}/rooms/{q(room_id)}/state", token=user.access_token)).ok()
    return {(e["type"], e["state_key"]): e for e in events}


async def test_private_chat_defaults(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, name="Plans", topic="Q3")
    # Room version 12 by default: the id is the create event's hash, no server part.
    assert room_id.startswith("!") and ":" not in room_id
    state = await state_of(client, alice, room_id)
    assert state[("m.room.create", "")]["content"]["room_version"] == "12"
    assert state[("m.room.create", "")]["sender"] == alice.user_id
    assert state[("m.room.join_rules", "")]["content"] == {"join_rule": "invite"}
    assert state[("m.room.history_visibility", "")]["content"] == {"history_visibility": "shared"}
    assert state[("m.room.name", "")]["content"] == {"name": "Plans"}
    assert state[("m.room.topic", "")]["content"] == {"topic": "Q3"}
    assert state[("m.room.member", alice.user_id)]["content"]["membership"] == "join"
    # The creator's power comes from creating the room, not from m.room.power_levels.
    assert alice.user_id not in state[("m.room.power_levels", "")]["content"]["users"]


async def test_public_chat_and_override(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(
        alice,
        preset="public_chat",
        power_level_content_override={"events_default": 10},
        initial_state=[{"type": "m.room.guest_access", "content": {"guest_access": "forbidden"}}],
    )
    state = await state_of(client, alice, room_id)
    assert state[("m.room.join_rules", "")]["content"]["join_rule"] == "public"
    assert state[("m.room.power_levels", "")]["content"]["events_default"] == 10
    assert state[("m.room.guest_access", "")]["content"] == {"guest_access": "forbidden"}


async def test_trusted_private_chat_gives_invitees_power_in_v11(client: TestClient) -> None:
    # (Room version 12 makes them creators instead: test_room_version_12.py.)
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(
        alice,
        room_version="11",
        preset="trusted_private_chat",
        invite=[bob.user_id],
        is_direct=True,
    )
    state = await state_of(client, alice, room_id)
    assert state[("m.room.power_levels", "")]["content"]["users"][bob.user_id] == 100
    invite = state[("m.room.member", bob.user_id)]["content"]
    assert invite["membership"] == "invite" and invite["is_direct"] is True


async def test_events_form_a_dag(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, name="DAG")
    event_id = await client.send_text(alice, room_id, "hi")
    server = client.app.extensions["homeserver"]
    stored = await server.storage.events.get_event(event_id)
    event = stored.event
    assert event["event_id"].startswith("$")
    assert event["depth"] > 1 and len(event["prev_events"]) == 1
    # Power levels and the sender's membership; room version 12 implies the
    # create event by the room id instead of listing it.
    assert len(event["auth_events"]) == 2
    assert "$" + room_id[1:] not in event["auth_events"]
    prev = await server.storage.events.get_event(event["prev_events"][0])
    assert prev.event["depth"] == event["depth"] - 1
    assert event["hashes"]["sha256"] and event["signatures"]["localhost"]


async def test_invalid_requests(client: TestClient) -> None:
    alice = await client.register("alice")
    url = f"{V3}/createRoom"
    token = alice.access_token
    (await client.post(url, json={"preset": "nope"}, token=token)).error(400, "M_INVALID_PARAM")
    (await client.post(url, json={"room_version": "1"}, token=token)).error(
        400, "M_UNSUPPORTED_ROOM_VERSION"
    )
    (await client.post(url, json={"name": 5}, token=token)).error(400, "M_BAD_JSON")
    (await client.post(url, json={"invite": "x"}, token=token)).error(400, "M_BAD_JSON")
    (await client.post(url, json={"invite": ["not-a-user"]}, token=token)).error(
        400, "M_INVALID_PARAM"
    )
    (await client.post(url, json={"initial_state": [{"type": 1}]}, token=token)).error(
        400, "M_BAD_JSON"
    )
    (await client.post(url, json={"room_alias_name": "a:b"}, token=token)).error(
        400, "M_INVALID_PARAM"
    )
    (await client.post(url, json={})).error(401, "M_MISSING_TOKEN")


async def test_invite_unknown_user_is_rejected_before_creating(client: TestClient) -> None:
    alice = await client.register("alice")
    response = await client.post(
        f"{V3}/createRoom", json={"invite": ["@ghost:localhost"]}, token=alice.access_token
    )
    response.error(400, "M_INVALID_PARAM")
    assert (await client.get(f"{V3}/joined_rooms", token=alice.access_token)).ok() == {
        "joined_rooms": []
    }
