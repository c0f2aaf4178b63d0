"""Profiles (display name, avatar) and the user directory."""

from __future__ import annotations

import pytest

from tests.matrix_client import V3, TestClient, User, q


def profile_path(user_id: str, field: str | None = None) -> str:
    path = f"{V3}/profile/{q(user_id)}"
    return f"{path}/{field}" if field else path


async def test_get_own_profile_defaults_to_localpart(client: TestClient) -> None:
    alice = await client.register("alice")
    profile = (await client.get(profile_path(alice.user_id), token=alice.access_token)).ok()
    assert profile == {"displayname": "alice"}
    field = (
        await client.get(profile_path(alice.user_id, "displayname"), token=alice.access_token)
    ).ok()
    assert field == {"displayname": "alice"}
    (await client.get(profile_path(alice.user_id, "avatar_url"), token=alice.access_token)).error(
        404, "M_NOT_FOUND"
    )


async def test_set_displayname_and_avatar(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    token = alice.access_token
    assert (
        await client.put(
            profile_path(alice.user_id, "displayname"),
            json={"displayname": "Alice A."},
            token=token,
        )
    ).ok() == {}
    assert (
        await client.put(
            profile_path(alice.user_id, "avatar_url"),
            json={"avatar_url": "mxc://localhost/abc123"},
            token=token,
        )
    ).ok() == {}
    # Another user sees the new profile.
    profile = (await client.get(profile_path(alice.user_id), token=bob.access_token)).ok()
    assert profile == {"displayname": "Alice A.", "avatar_url": "mxc://localhost/abc123"}
    avatar = (
        await client.get(profile_path(alice.user_id, "avatar_url"), token=bob.access_token)
    ).ok()
    assert avatar == {"avatar_url": "mxc://localhost/abc123"}


@pytest.mark.parametrize(
    "avatar_url", ["https://example.org/cat.png", "http://localhost/x", "file:///etc/passwd"]
)
async def test_avatar_must_be_mxc(client: TestClient, avatar_url: str) -> None:
    alice = await client.register("alice")
    response = await client.put(
        profile_path(alice.user_id, "avatar_url"),
        json={"avatar_url": avatar_url},
        token=alice.access_token,
    )
    response.error(400, "M_INVALID_PARAM")
    profile = (await client.get(profile_path(alice.user_id), token=alice.access_token)).ok()
    assert "avatar_url" not in profile


async def test_set_profile_bad_bodies(client: TestClient) -> None:
    alice = await client.register("alice")
    path = profile_path(alice.user_id, "displayname")
    (await client.put(path, json={}, token=alice.access_token)).error(400, "M_MISSING_PARAM")
    (await client.put(path, json={"displayname": 12}, token=alice.access_token)).error(
        400, "M_BAD_JSON"
    )
    (await client.put(path, json={"displayname": "x"})).error(401, "M_MISSING_TOKEN")


async def test_cannot_set_someone_elses_profile(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    response = await client.put(
        profile_path(bob.user_id, "displayname"),
        json={"displayname": "Mallory"},
        token=alice.access_token,
    )
    response.error(403, "M_FORBIDDEN")
    response = await client.put(
        profile_path(bob.user_id, "avatar_url"),
        json={"avatar_url": "mxc://localhost/evil"},
        token=alice.access_token,
    )
    response.error(403, "M_FORBIDDEN")
    profile = (await client.get(profile_path(bob.user_id), token=bob.access_token)).ok()
    assert profile == {"displayname": "bob"}


async def test_unknown_user_profile(client: TestClient) -> None:
    alice = await client.register("alice")
    (await client.get(profile_path("@nobody:localhost"), token=alice.access_token)).error(
        404, "M_NOT_FOUND"
    )
    (
        await client.get(profile_path("@nobody:localhost", "displayname"), token=alice.access_token)
    ).error(404, "M_NOT_FOUND")


async def test_invalid_user_id_in_profile_path(client: TestClient) -> None:
    alice = await client.register("alice")
    (await client.get(profile_path("not-a-user-id"), token=alice.access_token)).error(
        400, "M_INVALID_PARAM"
    )


async def test_displayname_change_updates_member_event(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    (
        await client.put(
            profile_path(alice.user_id, "displayname"),
            json={"displayname": "Queen Alice"},
            token=alice.access_token,
        )
    ).ok()
    (
        await client.put(
            profile_path(alice.user_id, "avatar_url"),
            json={"avatar_url": "mxc://localhost/crown"},
            token=alice.access_token,
        )
    ).ok()
    member = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/state/m.room.member/{q(alice.user_id)}",
            token=bob.access_token,
        )
    ).ok()
    assert member["membership"] == "join"
    assert member["displayname"] == "Queen Alice"
    assert member["avatar_url"] == "mxc://localhost/crown"
    # Bob's membership is untouched.
    bobs = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/state/m.room.member/{q(bob.user_id)}",
            token=bob.access_token,
        )
    ).ok()
    assert bobs["displayname"] == "bob"


# -- user directory ---------------------------------------------------------------


async def search(client: TestClient, user: User, term: str, limit: int | None = None) -> dict:
    body: dict[str, object] = {"search_term": term}
    if limit is not None:
        body["limit"] = limit
    result = await client.post(f"{V3}/user_directory/search", json=body, token=user.access_token)
    return dict(result.ok())


async def set_name(client: TestClient, user: User, name: str) -> None:
    (
        await client.put(
            profile_path(user.user_id, "displayname"),
            json={"displayname": name},
            token=user.access_token,
        )
    ).ok()


async def test_user_directory_by_localpart_and_display_name(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await client.register("carol")
    await set_name(client, bob, "Robert Tables")

    found = await search(client, alice, "BOB")
    assert [r["user_id"] for r in found["results"]] == [bob.user_id]
    assert found["results"][0]["display_name"] == "Robert Tables"
    assert found["limited"] is False

    by_name = await search(client, alice, "rOBERT")
    assert [r["user_id"] for r in by_name["results"]] == [bob.user_id]
    assert (await search(client, alice, "zebra"))["results"] == []


async def test_user_directory_limit(client: TestClient) -> None:
    searcher = await client.register("searcher")
    for name in ("team1", "team2", "team3"):
        await client.register(name)
    limited = await search(client, searcher, "team", limit=2)
    assert len(limited["results"]) == 2
    assert limited["limited"] is True
    everything = await search(client, searcher, "team", limit=3)
    assert len(everything["results"]) == 3
    assert everything["limited"] is False


async def test_user_directory_wildcards_are_literal(client: TestClient) -> None:
    alice = await client.register("alice")
    under = await client.register("un_der")
    await client.register("under")
    percent = await client.register("percent")
    await set_name(client, percent, "100% real")

    found = await search(client, alice, "_")
    assert [r["user_id"] for r in found["results"]] == [under.user_id]
    found = await search(client, alice, "n_d")
    assert [r["user_id"] for r in found["results"]] == [under.user_id]
    found = await search(client, alice, "%")
    assert [r["user_id"] for r in found["results"]] == [percent.user_id]
    assert (await search(client, alice, "a%e"))["results"] == []


async def test_user_directory_errors(client: TestClient) -> None:
    alice = await client.register("alice")
    path = f"{V3}/user_directory/search"
    (await client.post(path, json={}, token=alice.access_token)).error(400, "M_MISSING_PARAM")
    (
        await client.post(path, json={"search_term": "a", "limit": -1}, token=alice.access_token)
    ).error(400, "M_INVALID_PARAM")
    (await client.post(path, json={"search_term": "a"})).error(401, "M_MISSING_TOKEN")
