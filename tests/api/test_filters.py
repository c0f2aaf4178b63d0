"""Stored filters and the /sync `filter` parameter."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.matrix_client import V3, Response, TestClient, User, q


def filter_path(user: User | str, filter_id: str | None = None) -> str:
    user_id = user if isinstance(user, str) else user.user_id
    path = f"{V3}/user/{q(user_id)}/filter"
    return f"{path}/{q(filter_id)}" if filter_id is not None else path


async def create_filter(client: TestClient, user: User, definition: Any) -> Response:
    return await client.post(filter_path(user), json=definition, token=user.access_token)


async def sync_with(client: TestClient, user: User, sync_filter: str, **query: Any) -> Response:
    return await client.get(
        f"{V3}/sync", token=user.access_token, query={"filter": sync_filter, **query}
    )


TIMELINE_ONE = {"room": {"timeline": {"limit": 1}}}


async def test_create_and_get_filter(client: TestClient) -> None:
    alice = await client.register("alice")
    definition = {
        "event_fields": ["type", "content"],
        "room": {"timeline": {"limit": 5, "types": ["m.room.message"]}},
        "presence": {"not_types": ["*"]},
    }
    filter_id = (await create_filter(client, alice, definition)).ok()["filter_id"]
    assert isinstance(filter_id, str) and filter_id and not filter_id.startswith("{")
    got = (await client.get(filter_path(alice, filter_id), token=alice.access_token)).ok()
    assert got == definition
    second = (await create_filter(client, alice, {})).ok()["filter_id"]
    assert second != filter_id
    assert (await client.get(filter_path(alice, second), token=alice.access_token)).ok() == {}


async def test_filters_are_per_user(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    filter_id = (await create_filter(client, alice, TIMELINE_ONE)).ok()["filter_id"]
    (await client.get(filter_path(alice, filter_id), token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    (await client.post(filter_path(alice), json={}, token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    # Bob's own filter with the same id (if any) is a different one; Alice's id
    # does not reach Alice's filter through Bob's /sync.
    bobs_id = (await create_filter(client, bob, {"room": {"timeline": {"limit": 7}}})).ok()[
        "filter_id"
    ]
    got = (await client.get(filter_path(bob, bobs_id), token=bob.access_token)).ok()
    assert got == {"room": {"timeline": {"limit": 7}}}


async def test_unknown_filter(client: TestClient) -> None:
    alice = await client.register("alice")
    for filter_id in ("12345", "abc", "99999999999999"):
        (await client.get(filter_path(alice, filter_id), token=alice.access_token)).error(
            404, "M_NOT_FOUND"
        )


@pytest.mark.parametrize(
    "definition",
    [
        {"room": []},
        {"room": {"timeline": {"limit": "ten"}}},
        {"room": {"timeline": {"types": "m.room.message"}}},
        {"event_format": "xml"},
        {"room": {"rooms": [1]}},
        # As the spec's Filter schema (and Synapse's) say: ids, booleans, no nulls.
        {"room": {"rooms": ["general"]}},
        {"room": {"not_rooms": ["#alias:localhost"]}},
        {"room": {"timeline": {"senders": ["alice"]}}},
        {"room": {"timeline": {"not_rooms": [""]}}},
        {"room": {"timeline": {"lazy_load_members": "true"}}},
        {"room": {"state": {"contains_url": 1}}},
        {"room": {"timeline": {"limit": None}}},
        {"presence": {"types": None}},
    ],
)
async def test_invalid_filter_definition(client: TestClient, definition: Any) -> None:
    alice = await client.register("alice")
    (await create_filter(client, alice, definition)).error(400, "M_BAD_JSON")


async def test_filter_requires_token(client: TestClient) -> None:
    (await client.post(filter_path("@alice:localhost"), json={})).error(401, "M_MISSING_TOKEN")


async def _room_with_messages(client: TestClient, user: User, count: int) -> str:
    room_id = await client.create_room(user, name="Chatter")
    for i in range(count):
        await client.send_text(user, room_id, f"message {i}")
    return room_id


async def test_sync_with_stored_filter(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await _room_with_messages(client, alice, 3)
    filter_id = (await create_filter(client, alice, TIMELINE_ONE)).ok()["filter_id"]
    sync = (await sync_with(client, alice, filter_id)).ok()
    timeline = sync["rooms"]["join"][room_id]["timeline"]
    assert timeline["limited"] is True
    assert [e["content"].get("body") for e in timeline["events"]] == ["message 2"]


async def test_sync_with_inline_filter(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await _room_with_messages(client, alice, 3)
    sync = (await sync_with(client, alice, json.dumps(TIMELINE_ONE))).ok()
    timeline = sync["rooms"]["join"][room_id]["timeline"]
    assert timeline["limited"] is True
    assert len(timeline["events"]) == 1
    assert timeline["events"][0]["content"]["body"] == "message 2"
    # Without a filter the default limit shows more.
    unfiltered = await client.sync(alice)
    assert len(unfiltered["rooms"]["join"][room_id]["timeline"]["events"]) > 1


async def test_sync_filter_by_type(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await _room_with_messages(client, alice, 2)
    only_messages = {"room": {"timeline": {"types": ["m.room.message"], "limit": 10}}}
    sync = (await sync_with(client, alice, json.dumps(only_messages))).ok()
    events = sync["rooms"]["join"][room_id]["timeline"]["events"]
    assert [e["type"] for e in events] == ["m.room.message", "m.room.message"]


async def test_sync_filter_not_rooms(client: TestClient) -> None:
    alice = await client.register("alice")
    shown = await client.create_room(alice)
    hidden = await client.create_room(alice)
    definition = {"room": {"not_rooms": [hidden]}}
    sync = (await sync_with(client, alice, json.dumps(definition))).ok()
    assert shown in sync["rooms"]["join"]
    assert hidden not in sync["rooms"]["join"]


@pytest.mark.parametrize("raw", ["{not json", '{"room": ', "{}}"])
async def test_sync_invalid_inline_filter(client: TestClient, raw: str) -> None:
    alice = await client.register("alice")
    (await sync_with(client, alice, raw)).error(400, "M_INVALID_PARAM")


@pytest.mark.parametrize("raw", ["424242", "not-an-id", "-1"])
async def test_sync_unknown_filter_id(client: TestClient, raw: str) -> None:
    alice = await client.register("alice")
    (await sync_with(client, alice, raw)).error(400, "M_INVALID_PARAM")


async def test_sync_cannot_use_another_users_filter(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    (await create_filter(client, alice, TIMELINE_ONE)).ok()
    (await create_filter(client, alice, TIMELINE_ONE)).ok()
    second = (await create_filter(client, alice, TIMELINE_ONE)).ok()["filter_id"]
    # Bob has no filters at all, so Alice's ids are unknown to him.
    (await sync_with(client, bob, second)).error(400, "M_INVALID_PARAM")


@pytest.mark.parametrize(
    "definition",
    [{"room": []}, {"room": {"timeline": {"limit": -1}}}, {"account_data": {"types": "x"}}],
)
async def test_sync_inline_filter_with_bad_shape(client: TestClient, definition: Any) -> None:
    # Well-formed JSON that is not a valid filter: the same error as POST /filter.
    alice = await client.register("alice")
    (await sync_with(client, alice, json.dumps(definition))).error(400, "M_BAD_JSON")
