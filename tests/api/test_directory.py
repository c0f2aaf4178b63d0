"""Room aliases and the public room directory."""

from __future__ import annotations

from typing import Any

from tests.matrix_client import V3, Response, TestClient, User, q


def alias_path(alias: str) -> str:
    return f"{V3}/directory/room/{q(alias)}"


def list_path(room_id: str) -> str:
    return f"{V3}/directory/list/room/{q(room_id)}"


async def create_alias(client: TestClient, user: User, alias: str, room_id: str) -> Response:
    return await client.put(alias_path(alias), json={"room_id": room_id}, token=user.access_token)


# -- aliases -------------------------------------------------------------------------


async def test_create_resolve_delete_alias(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    alias = "#hangout:localhost"
    assert (await create_alias(client, alice, alias, room_id)).ok() == {}

    resolved = (await client.get(alias_path(alias))).ok()
    assert resolved["room_id"] == room_id
    assert resolved["servers"] == ["localhost"]
    aliases = (await client.get(f"{V3}/rooms/{q(room_id)}/aliases", token=alice.access_token)).ok()
    assert aliases == {"aliases": [alias]}

    assert (await client.delete(alias_path(alias), token=alice.access_token)).ok() == {}
    (await client.get(alias_path(alias))).error(404, "M_NOT_FOUND")
    (await client.delete(alias_path(alias), token=alice.access_token)).error(404, "M_NOT_FOUND")
    aliases = (await client.get(f"{V3}/rooms/{q(room_id)}/aliases", token=alice.access_token)).ok()
    assert aliases == {"aliases": []}


async def test_join_by_alias(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await create_alias(client, alice, "#lounge:localhost", room_id)).ok()
    assert (await client.join(bob, "#lounge:localhost")).ok()["room_id"] == room_id


async def test_duplicate_alias_conflicts(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    other_room = await client.create_room(alice)
    (await create_alias(client, alice, "#dup:localhost", room_id)).ok()
    (await create_alias(client, alice, "#dup:localhost", other_room)).error(409, "M_UNKNOWN")
    assert (await client.get(alias_path("#dup:localhost"))).ok()["room_id"] == room_id


async def test_non_member_cannot_create_alias(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await create_alias(client, bob, "#bobs:localhost", room_id)).error(403, "M_FORBIDDEN")
    (await client.get(alias_path("#bobs:localhost"))).error(404, "M_NOT_FOUND")


async def test_alias_errors(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    (await create_alias(client, alice, "#remote:elsewhere.org", room_id)).error(
        400, "M_INVALID_PARAM"
    )
    (await create_alias(client, alice, "#nocolon", room_id)).error(400, "M_INVALID_PARAM")
    (await create_alias(client, alice, "#ghost:localhost", "!nosuchroom:localhost")).error(
        404, "M_NOT_FOUND"
    )
    (await client.put(alias_path("#x:localhost"), json={}, token=alice.access_token)).error(
        400, "M_MISSING_PARAM"
    )
    (await client.put(alias_path("#x:localhost"), json={"room_id": room_id})).error(
        401, "M_MISSING_TOKEN"
    )
    (await client.get(alias_path("#unknown:localhost"))).error(404, "M_NOT_FOUND")
    (await client.get(alias_path("not-an-alias"))).error(400, "M_INVALID_PARAM")


async def test_delete_alias_permissions(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    carol = await client.register("carol")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    (await client.join(carol, room_id)).ok()
    (await create_alias(client, bob, "#bobs:localhost", room_id)).ok()
    (await create_alias(client, carol, "#carols:localhost", room_id)).ok()
    # A plain member cannot delete someone else's alias...
    (await client.delete(alias_path("#carols:localhost"), token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    # ...but the creator can, and so can a room moderator.
    (await client.delete(alias_path("#bobs:localhost"), token=bob.access_token)).ok()
    (await client.delete(alias_path("#carols:localhost"), token=alice.access_token)).ok()
    (await client.get(alias_path("#carols:localhost"))).error(404, "M_NOT_FOUND")


async def test_create_room_with_alias(client: TestClient) -> None:
    alice = await client.register("alice")
    result = (
        await client.post(
            f"{V3}/createRoom", json={"room_alias_name": "lobby"}, token=alice.access_token
        )
    ).ok()
    room_id = result["room_id"]
    assert (await client.get(alias_path("#lobby:localhost"))).ok()["room_id"] == room_id
    canonical = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/state/m.room.canonical_alias/", token=alice.access_token
        )
    ).ok()
    assert canonical["alias"] == "#lobby:localhost"

    # The alias is taken now.
    response = await client.post(
        f"{V3}/createRoom", json={"room_alias_name": "lobby"}, token=alice.access_token
    )
    response.error(400, "M_ROOM_IN_USE")
    joined = (await client.get(f"{V3}/joined_rooms", token=alice.access_token)).ok()
    assert joined["joined_rooms"] == [room_id]


async def test_create_room_invalid_alias_name(client: TestClient) -> None:
    alice = await client.register("alice")
    for bad in ("a:b", "has space", "#hash", ""):
        response = await client.post(
            f"{V3}/createRoom", json={"room_alias_name": bad}, token=alice.access_token
        )
        response.error(400, "M_INVALID_PARAM")


async def test_room_aliases_needs_membership(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, room_alias_name="secret")
    (await client.get(f"{V3}/rooms/{q(room_id)}/aliases", token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    (await client.get(f"{V3}/rooms/{q(room_id)}/aliases")).error(401, "M_MISSING_TOKEN")


# -- public rooms ------------------------------------------------------------------------


async def public_rooms_get(client: TestClient, **query: Any) -> dict[str, Any]:
    return dict((await client.get(f"{V3}/publicRooms", query=query or None)).ok())


async def public_rooms_post(client: TestClient, user: User, body: dict[str, Any]) -> Any:
    return (await client.post(f"{V3}/publicRooms", json=body, token=user.access_token)).ok()


async def test_public_room_listed_with_details(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(
        alice,
        preset="public_chat",
        visibility="public",
        name="Lobby",
        topic="Say hi",
        room_alias_name="lobby",
    )
    (await client.join(bob, room_id)).ok()
    private = await client.create_room(alice, name="Private")
    unpublished_public = await client.create_room(alice, preset="public_chat", name="Unlisted")

    for listing in (
        await public_rooms_get(client),
        await public_rooms_post(client, bob, {}),
    ):
        ids = [entry["room_id"] for entry in listing["chunk"]]
        assert ids == [room_id]
        entry = listing["chunk"][0]
        assert entry["name"] == "Lobby"
        assert entry["topic"] == "Say hi"
        assert entry["num_joined_members"] == 2
        assert entry["canonical_alias"] == "#lobby:localhost"
        assert entry["join_rule"] == "public"
        assert entry["world_readable"] is False
        assert listing["total_room_count_estimate"] == 1
        assert private not in ids and unpublished_public not in ids
    assert (await client.get(list_path(room_id))).ok() == {"visibility": "public"}
    assert (await client.get(list_path(private))).ok() == {"visibility": "private"}


async def test_public_rooms_pagination(client: TestClient) -> None:
    alice = await client.register("alice")
    rooms = set()
    for i in range(5):
        rooms.add(
            await client.create_room(
                alice, preset="public_chat", visibility="public", name=f"Room {i}"
            )
        )
    seen: list[str] = []
    page = await public_rooms_get(client, limit=2)
    assert len(page["chunk"]) == 2 and "prev_batch" not in page
    seen += [e["room_id"] for e in page["chunk"]]
    page = await public_rooms_get(client, limit=2, since=page["next_batch"])
    assert len(page["chunk"]) == 2 and "prev_batch" in page
    seen += [e["room_id"] for e in page["chunk"]]
    page = await public_rooms_get(client, limit=2, since=page["next_batch"])
    assert len(page["chunk"]) == 1 and "next_batch" not in page
    seen += [e["room_id"] for e in page["chunk"]]
    assert sorted(seen) == sorted(rooms)

    # The same through POST.
    bob = await client.register("bob")
    first = await public_rooms_post(client, bob, {"limit": 3})
    second = await public_rooms_post(client, bob, {"limit": 3, "since": first["next_batch"]})
    assert "next_batch" not in second
    posted = [e["room_id"] for e in first["chunk"] + second["chunk"]]
    assert sorted(posted) == sorted(rooms)


async def test_public_rooms_search(client: TestClient) -> None:
    alice = await client.register("alice")
    cats = await client.create_room(
        alice, preset="public_chat", visibility="public", name="Cat pictures"
    )
    await client.create_room(alice, preset="public_chat", visibility="public", name="Dogs")
    topical = await client.create_room(
        alice, preset="public_chat", visibility="public", name="Misc", topic="mostly CATS"
    )
    found = await public_rooms_post(client, alice, {"filter": {"generic_search_term": "cat"}})
    assert sorted(e["room_id"] for e in found["chunk"]) == sorted([cats, topical])
    none = await public_rooms_post(client, alice, {"filter": {"generic_search_term": "zzz"}})
    assert none["chunk"] == []


async def test_public_rooms_errors(client: TestClient) -> None:
    alice = await client.register("alice")
    (await client.get(f"{V3}/publicRooms", query={"limit": "x"})).error(400, "M_INVALID_PARAM")
    (await client.get(f"{V3}/publicRooms", query={"since": "bogus"})).error(400, "M_INVALID_PARAM")
    (await client.post(f"{V3}/publicRooms", json={"limit": -1}, token=alice.access_token)).error(
        400, "M_INVALID_PARAM"
    )
    (await client.post(f"{V3}/publicRooms", json={"since": 5}, token=alice.access_token)).error(
        400, "M_INVALID_PARAM"
    )
    (await client.post(f"{V3}/publicRooms", json={})).error(401, "M_MISSING_TOKEN")


async def test_publish_by_moderator_only(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat", name="Later")
    (await client.join(bob, room_id)).ok()

    (
        await client.put(list_path(room_id), json={"visibility": "public"}, token=bob.access_token)
    ).error(403, "M_FORBIDDEN")
    assert (await public_rooms_get(client))["chunk"] == []

    assert (
        await client.put(
            list_path(room_id), json={"visibility": "public"}, token=alice.access_token
        )
    ).ok() == {}
    assert (await client.get(list_path(room_id))).ok() == {"visibility": "public"}
    assert [e["room_id"] for e in (await public_rooms_get(client))["chunk"]] == [room_id]

    (
        await client.put(
            list_path(room_id), json={"visibility": "private"}, token=alice.access_token
        )
    ).ok()
    assert (await public_rooms_get(client))["chunk"] == []


async def test_publish_errors(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    (
        await client.put(
            list_path(room_id), json={"visibility": "everyone"}, token=alice.access_token
        )
    ).error(400, "M_INVALID_PARAM")
    (
        await client.put(
            list_path("!nosuch:localhost"), json={"visibility": "public"}, token=alice.access_token
        )
    ).error(404, "M_NOT_FOUND")
    (await client.get(list_path("!nosuch:localhost"))).error(404, "M_NOT_FOUND")
    (await client.put(list_path(room_id), json={"visibility": "public"})).error(
        401, "M_MISSING_TOKEN"
    )
