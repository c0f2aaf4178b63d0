"""Joining, inviting, leaving, kicking, banning, forgetting: the Matrix
authorization rules as seen through the API."""

from __future__ import annotations

from tests.matrix_client import V3, TestClient, User, q


async def membership_of(client: TestClient, viewer: User, room_id: str, user_id: str) -> str:
    path = f"{V3}/rooms/{q(room_id)}/state/m.room.member/{q(user_id)}"
    content = (await client.get(path, token=viewer.access_token)).ok()
    return str(content["membership"])


async def test_join_public_room_by_id_and_alias(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    carol = await client.register("carol")
    room_id = await client.create_room(alice, preset="public_chat", room_alias_name="lobby")
    assert (await client.join(bob, room_id)).ok() == {"room_id": room_id}
    assert (await client.join(carol, "#lobby:localhost")).ok() == {"room_id": room_id}
    joined = (await client.get(f"{V3}/joined_rooms", token=carol.access_token)).ok()
    assert joined == {"joined_rooms": [room_id]}
    members = (
        await client.get(f"{V3}/rooms/{q(room_id)}/joined_members", token=bob.access_token)
    ).ok()
    assert set(members["joined"]) == {alice.user_id, bob.user_id, carol.user_id}


async def test_join_errors(client: TestClient) -> None:
    alice = await client.register("alice")
    (await client.join(alice, "#nowhere:localhost")).error(404, "M_NOT_FOUND")
    (await client.join(alice, "!nowhere:localhost")).error(404, "M_NOT_FOUND")
    (await client.join(alice, "garbage")).error(400, "M_INVALID_PARAM")


async def test_invite_only_room(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice)
    (await client.join(bob, room_id)).error(403, "M_FORBIDDEN")
    (await client.invite(alice, room_id, bob.user_id)).ok()
    assert await membership_of(client, alice, room_id, bob.user_id) == "invite"
    (await client.join(bob, room_id)).ok()
    assert await membership_of(client, alice, room_id, bob.user_id) == "join"
    (await client.invite(alice, room_id, bob.user_id)).error(403, "M_FORBIDDEN")


async def test_invite_needs_power_and_membership(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    carol = await client.register("carol")
    room_id = await client.create_room(alice, preset="public_chat")  # invite level 50
    (await client.invite(bob, room_id, carol.user_id)).error(403, "M_FORBIDDEN")  # not in room
    (await client.join(bob, room_id)).ok()
    (await client.invite(bob, room_id, carol.user_id)).error(403, "M_FORBIDDEN")  # power 0
    (await client.invite(alice, room_id, "@ghost:localhost")).error(400, "M_INVALID_PARAM")
    (await client.invite(alice, room_id, "@x:elsewhere.example")).error(403, "M_FORBIDDEN")
    (await client.invite(alice, room_id, "bad")).error(400, "M_INVALID_PARAM")


async def test_reject_invite_and_leave(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice)
    (await client.invite(alice, room_id, bob.user_id)).ok()
    leave = f"{V3}/rooms/{q(room_id)}/leave"
    (await client.post(leave, json={}, token=bob.access_token)).ok()
    assert await membership_of(client, alice, room_id, bob.user_id) == "leave"
    (await client.post(leave, json={}, token=bob.access_token)).error(403, "M_FORBIDDEN")


async def moderate(client: TestClient, actor: User, room_id: str, action: str, target: str):  # type: ignore[no-untyped-def]
    return await client.post(
        f"{V3}/rooms/{q(room_id)}/{action}",
        json={"user_id": target, "reason": "testing"},
        token=actor.access_token,
    )


async def test_kick_ban_unban(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    carol = await client.register("carol")
    room_id = await client.create_room(alice, preset="public_chat")
    for user in (bob, carol):
        (await client.join(user, room_id)).ok()

    (await moderate(client, bob, room_id, "kick", carol.user_id)).error(403, "M_FORBIDDEN")
    (await moderate(client, alice, room_id, "kick", carol.user_id)).ok()
    assert await membership_of(client, alice, room_id, carol.user_id) == "leave"
    (await client.join(carol, room_id)).ok()  # a kick is not a ban

    (await moderate(client, bob, room_id, "ban", carol.user_id)).error(403, "M_FORBIDDEN")
    (await moderate(client, alice, room_id, "ban", carol.user_id)).ok()
    assert await membership_of(client, alice, room_id, carol.user_id) == "ban"
    (await client.join(carol, room_id)).error(403, "M_FORBIDDEN")

    (await moderate(client, bob, room_id, "unban", carol.user_id)).error(403, "M_FORBIDDEN")
    (await moderate(client, alice, room_id, "unban", carol.user_id)).ok()
    (await client.join(carol, room_id)).ok()
    (await moderate(client, alice, room_id, "unban", carol.user_id)).error(403, "M_FORBIDDEN")

    # Nobody may kick someone at or above their own level.
    (await moderate(client, bob, room_id, "kick", alice.user_id)).error(403, "M_FORBIDDEN")
    unknown = await client.post(
        f"{V3}/rooms/{q(room_id)}/explode",
        json={"user_id": bob.user_id},
        token=alice.access_token,
        check_contract=False,
    )
    unknown.error(404, "M_UNRECOGNIZED")
    (await moderate(client, alice, room_id, "kick", "nobody")).error(400, "M_INVALID_PARAM")


async def test_forget(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    forget = f"{V3}/rooms/{q(room_id)}/forget"
    (await client.post(forget, json={}, token=bob.access_token)).error(400, "M_UNKNOWN")
    (await client.post(f"{V3}/rooms/{q(room_id)}/leave", json={}, token=bob.access_token)).ok()
    (await client.post(forget, json={}, token=bob.access_token)).ok()
    sync = await client.sync(bob, filter='{"room":{"include_leave":true}}')
    assert room_id not in sync["rooms"]["leave"]
