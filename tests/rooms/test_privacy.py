"""Only members (and past members, per history visibility) read a room."""

from __future__ import annotations

import pytest

from tests.matrix_client import V3, TestClient, User, q


async def outsider_reads(client: TestClient, eve: User, room_id: str, event_id: str) -> None:
    token = eve.access_token
    room = q(room_id)
    for path, query in [
        (f"{V3}/rooms/{room}/state", None),
        (f"{V3}/rooms/{room}/state/m.room.name", None),
        (f"{V3}/rooms/{room}/members", None),
        (f"{V3}/rooms/{room}/joined_members", None),
        (f"{V3}/rooms/{room}/messages", {"dir": "b"}),
        (f"{V3}/rooms/{room}/event/{q(event_id)}", None),
        (f"{V3}/rooms/{room}/context/{q(event_id)}", None),
        (f"{V3}/rooms/{room}/aliases", None),
    ]:
        response = await client.get(path, token=token, query=query)
        response.error(403, "M_FORBIDDEN")


@pytest.mark.parametrize("preset", ["private_chat", "public_chat"])
async def test_outsider_gets_403_everywhere(client: TestClient, preset: str) -> None:
    alice = await client.register("alice")
    eve = await client.register("eve")
    room_id = await client.create_room(alice, preset=preset, name="Members only")
    event_id = await client.send_text(alice, room_id, "for members")
    await outsider_reads(client, eve, room_id, event_id)
    # A room that does not exist answers the same, so existence does not leak.
    await outsider_reads(client, eve, "!missing:localhost", event_id)


async def test_invitee_cannot_read_history_before_joining(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice)
    event_id = await client.send_text(alice, room_id, "before invite")
    (await client.invite(alice, room_id, bob.user_id)).ok()
    await outsider_reads(client, bob, room_id, event_id)


async def test_shared_history_visible_after_join(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    await client.send_text(alice, room_id, "early")
    (await client.join(bob, room_id)).ok()
    page = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/messages",
            token=bob.access_token,
            query={"dir": "b", "limit": 50},
        )
    ).ok()
    assert "early" in [e["content"].get("body") for e in page["chunk"]]


async def test_joined_visibility_hides_earlier_history(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(
        alice,
        preset="public_chat",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
        ],
    )
    early = await client.send_text(alice, room_id, "before bob")
    (await client.join(bob, room_id)).ok()
    await client.send_text(alice, room_id, "after bob")
    page = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/messages",
            token=bob.access_token,
            query={"dir": "b", "limit": 50},
        )
    ).ok()
    seen = [e["content"].get("body") for e in page["chunk"] if e["type"] == "m.room.message"]
    assert seen == ["after bob"]
    (await client.get(f"{V3}/rooms/{q(room_id)}/event/{q(early)}", token=bob.access_token)).error(
        404, "M_NOT_FOUND"
    )
    sync = await client.sync(bob)
    timeline = sync["rooms"]["join"][room_id]["timeline"]["events"]
    assert "before bob" not in [e["content"].get("body") for e in timeline]


async def test_past_member_sees_up_to_leaving(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    await client.send_text(alice, room_id, "while bob was here")
    (await client.post(f"{V3}/rooms/{q(room_id)}/leave", json={}, token=bob.access_token)).ok()
    later = await client.send_text(alice, room_id, "after bob left")
    (
        await client.put(
            f"{V3}/rooms/{q(room_id)}/state/m.room.name",
            json={"name": "Renamed"},
            token=alice.access_token,
        )
    ).ok()

    page = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/messages",
            token=bob.access_token,
            query={"dir": "b", "limit": 50},
        )
    ).ok()
    seen = [e["content"].get("body") for e in page["chunk"] if e["type"] == "m.room.message"]
    assert seen == ["while bob was here"]
    (await client.get(f"{V3}/rooms/{q(room_id)}/event/{q(later)}", token=bob.access_token)).error(
        404, "M_NOT_FOUND"
    )
    # State as it was when bob left: no new name.
    (await client.get(f"{V3}/rooms/{q(room_id)}/state/m.room.name", token=bob.access_token)).error(
        404, "M_NOT_FOUND"
    )
    # joined_members is for current members only.
    (await client.get(f"{V3}/rooms/{q(room_id)}/joined_members", token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )


async def test_cannot_send_or_set_state_as_outsider(client: TestClient) -> None:
    alice = await client.register("alice")
    eve = await client.register("eve")
    room_id = await client.create_room(alice, preset="public_chat")
    send = f"{V3}/rooms/{q(room_id)}/send/m.room.message/e1"
    (await client.put(send, json={"body": "hi"}, token=eve.access_token)).error(403, "M_FORBIDDEN")
    state = f"{V3}/rooms/{q(room_id)}/state/m.room.topic"
    (await client.put(state, json={"topic": "x"}, token=eve.access_token)).error(403, "M_FORBIDDEN")
    account_data = f"{V3}/user/{q(eve.user_id)}/rooms/{q(room_id)}/account_data/x.y"
    (await client.put(account_data, json={}, token=eve.access_token)).error(403, "M_FORBIDDEN")
