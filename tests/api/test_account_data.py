"""Global and per-room account data, and how /sync delivers it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.matrix_client import V3, Response, TestClient, User, q


def global_path(user: User | str, data_type: str) -> str:
    user_id = user if isinstance(user, str) else user.user_id
    return f"{V3}/user/{q(user_id)}/account_data/{q(data_type)}"


def room_path(user: User | str, room_id: str, data_type: str) -> str:
    user_id = user if isinstance(user, str) else user.user_id
    return f"{V3}/user/{q(user_id)}/rooms/{q(room_id)}/account_data/{q(data_type)}"


async def put(client: TestClient, user: User, path: str, content: Any) -> Response:
    return await client.put(path, json=content, token=user.access_token)


async def test_global_round_trip_and_overwrite(client: TestClient) -> None:
    alice = await client.register("alice")
    path = global_path(alice, "org.example.settings")
    assert (await put(client, alice, path, {"theme": "dark", "n": [1, 2]})).ok() == {}
    got = (await client.get(path, token=alice.access_token)).ok()
    assert got == {"theme": "dark", "n": [1, 2]}
    (await put(client, alice, path, {"theme": "light"})).ok()
    assert (await client.get(path, token=alice.access_token)).ok() == {"theme": "light"}


async def test_m_direct_round_trip(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, invite=[bob.user_id], is_direct=True)
    content = {bob.user_id: [room_id]}
    (await put(client, alice, global_path(alice, "m.direct"), content)).ok()
    got = (await client.get(global_path(alice, "m.direct"), token=alice.access_token)).ok()
    assert got == content
    sync = await client.sync(alice)
    direct = [e for e in sync["account_data"]["events"] if e["type"] == "m.direct"]
    assert direct == [{"type": "m.direct", "content": content}]


async def test_per_room_round_trip(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    other_room = await client.create_room(alice)
    path = room_path(alice, room_id, "m.tag")
    (await put(client, alice, path, {"tags": {"u.work": {"order": 0.5}}})).ok()
    got = (await client.get(path, token=alice.access_token)).ok()
    assert got == {"tags": {"u.work": {"order": 0.5}}}
    # Scoped to that room, and separate from global data of the same type.
    (await client.get(room_path(alice, other_room, "m.tag"), token=alice.access_token)).error(
        404, "M_NOT_FOUND"
    )
    (await client.get(global_path(alice, "m.tag"), token=alice.access_token)).error(
        404, "M_NOT_FOUND"
    )


async def test_unknown_type_is_not_found(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    (await client.get(global_path(alice, "org.example.nothing"), token=alice.access_token)).error(
        404, "M_NOT_FOUND"
    )
    (
        await client.get(room_path(alice, room_id, "org.example.nothing"), token=alice.access_token)
    ).error(404, "M_NOT_FOUND")


async def test_other_users_account_data_is_forbidden(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    (await put(client, alice, global_path(alice, "org.example.secret"), {"pin": 1234})).ok()
    (await client.get(global_path(alice, "org.example.secret"), token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    (await put(client, bob, global_path(alice, "org.example.secret"), {"pin": 0})).error(
        403, "M_FORBIDDEN"
    )
    (await put(client, bob, room_path(alice, room_id, "m.tag"), {"tags": {}})).error(
        403, "M_FORBIDDEN"
    )
    (await client.get(room_path(alice, room_id, "m.tag"), token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    got = (
        await client.get(global_path(alice, "org.example.secret"), token=alice.access_token)
    ).ok()
    assert got == {"pin": 1234}


async def test_room_never_joined_is_forbidden(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice)
    (await put(client, bob, room_path(bob, room_id, "m.tag"), {"tags": {}})).error(
        403, "M_FORBIDDEN"
    )


async def test_invalid_room_id_is_invalid_param(client: TestClient) -> None:
    alice = await client.register("alice")
    (await put(client, alice, room_path(alice, "not-a-room", "m.tag"), {"tags": {}})).error(
        400, "M_INVALID_PARAM"
    )


@pytest.mark.parametrize("content", [[1, 2], "text", 3])
async def test_non_object_body(client: TestClient, content: Any) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    (await put(client, alice, global_path(alice, "org.example.x"), content)).error(
        400, "M_BAD_JSON"
    )
    (await put(client, alice, room_path(alice, room_id, "org.example.x"), content)).error(
        400, "M_BAD_JSON"
    )


async def test_not_json_body(client: TestClient) -> None:
    alice = await client.register("alice")
    response = await client.put(
        global_path(alice, "org.example.x"),
        data=b"{oops",
        token=alice.access_token,
        headers={"Content-Type": "application/json"},
    )
    response.error(400, "M_NOT_JSON")


@pytest.mark.parametrize("data_type", ["m.fully_read", "m.push_rules"])
async def test_server_managed_types(client: TestClient, data_type: str) -> None:
    alice = await client.register("alice")
    (await put(client, alice, global_path(alice, data_type), {})).error(405, "M_BAD_JSON")


async def test_requires_token(client: TestClient) -> None:
    (await client.get(global_path("@alice:localhost", "m.direct"))).error(401, "M_MISSING_TOKEN")


def events_of(batch: dict[str, Any]) -> dict[str, Any]:
    return {e["type"]: e["content"] for e in batch["events"]}


async def test_sync_delivers_global_and_room_account_data(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    (await put(client, alice, global_path(alice, "org.example.a"), {"v": 1})).ok()
    (await put(client, alice, room_path(alice, room_id, "m.tag"), {"tags": {"u.x": {}}})).ok()

    initial = await client.sync(alice)
    assert events_of(initial["account_data"])["org.example.a"] == {"v": 1}
    assert "m.tag" not in events_of(initial["account_data"])
    room = initial["rooms"]["join"][room_id]
    assert events_of(room["account_data"]) == {"m.tag": {"tags": {"u.x": {}}}}


async def test_incremental_sync_gets_only_changes(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    quiet_room = await client.create_room(alice)
    (await put(client, alice, global_path(alice, "org.example.a"), {"v": 1})).ok()
    (await put(client, alice, global_path(alice, "org.example.b"), {"v": 1})).ok()
    first = await client.sync(alice)
    assert {"org.example.a", "org.example.b"} <= set(events_of(first["account_data"]))

    # Nothing changed: nothing delivered.
    idle = await client.sync(alice, since=first["next_batch"])
    assert idle["account_data"]["events"] == []
    assert idle["rooms"]["join"] == {}

    (await put(client, alice, global_path(alice, "org.example.b"), {"v": 2})).ok()
    (await put(client, alice, room_path(alice, room_id, "m.tag"), {"tags": {}})).ok()
    second = await client.sync(alice, since=idle["next_batch"])
    assert events_of(second["account_data"]) == {"org.example.b": {"v": 2}}
    assert set(second["rooms"]["join"]) == {room_id}
    assert quiet_room not in second["rooms"]["join"]
    joined = second["rooms"]["join"][room_id]
    assert events_of(joined["account_data"]) == {"m.tag": {"tags": {}}}
    assert joined["timeline"]["events"] == []

    third = await client.sync(alice, since=second["next_batch"])
    assert third["account_data"]["events"] == []
    assert third["rooms"]["join"] == {}


async def test_account_data_is_private_in_sync(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    (await put(client, alice, global_path(alice, "org.example.private"), {"x": 1})).ok()
    bobs = await client.sync(bob)
    assert "org.example.private" not in events_of(bobs["account_data"])
