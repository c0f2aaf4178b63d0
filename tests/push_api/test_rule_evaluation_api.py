"""The default rules and users' own rules at work, seen through /sync's unread
counts (the same stored decisions pushes are made from): mentions, @room with
and without the power to notify the room, one-to-one rooms, group messages."""

from __future__ import annotations

from typing import Any

from tests.matrix_client import V3, TestClient, User, q

_txn = iter(range(1, 10_000))


async def send(client: TestClient, user: User, room_id: str, body: str, **content: Any) -> str:
    url = f"{V3}/rooms/{q(room_id)}/send/m.room.message/e{next(_txn)}"
    message = {"msgtype": "m.text", "body": body, **content}
    return str((await client.put(url, json=message, token=user.access_token)).ok()["event_id"])


async def counts(client: TestClient, user: User, room_id: str) -> tuple[int, int]:
    room = (await client.sync(user))["rooms"]["join"][room_id]["unread_notifications"]
    return room["notification_count"], room["highlight_count"]


async def group(client: TestClient) -> tuple[User, User, User, str]:
    alice, bob, carol = [await client.register(n) for n in ("alice", "bob", "carol")]
    room_id = await client.create_room(alice, preset="public_chat")
    for user in (bob, carol):
        (await client.join(user, room_id)).ok()
    return alice, bob, carol, room_id


async def test_group_messages_notify_without_highlight(client: TestClient) -> None:
    alice, bob, carol, room_id = await group(client)
    await send(client, alice, room_id, "hello all")
    assert await counts(client, bob, room_id) == (1, 0)
    assert await counts(client, carol, room_id) == (1, 0)
    assert await counts(client, alice, room_id) == (0, 0)  # never your own


async def test_intentional_mentions_highlight_only_the_mentioned(client: TestClient) -> None:
    alice, bob, carol, room_id = await group(client)
    await send(client, alice, room_id, "see this", **{"m.mentions": {"user_ids": [bob.user_id]}})
    assert await counts(client, bob, room_id) == (1, 1)
    assert await counts(client, carol, room_id) == (1, 0)
    # With m.mentions present, the legacy name match is off: "carol" in the body
    # does not highlight carol.
    await send(client, alice, room_id, "carol and bob", **{"m.mentions": {}})
    assert await counts(client, carol, room_id) == (2, 0)


async def test_name_mentions_without_m_mentions_highlight(client: TestClient) -> None:
    alice, bob, carol, room_id = await group(client)
    url = f"{V3}/profile/{q(carol.user_id)}/displayname"
    (await client.put(url, json={"displayname": "Caroline"}, token=carol.access_token)).ok()
    await send(client, alice, room_id, "thanks Caroline!")
    await send(client, alice, room_id, "hey bob")  # the user name (content rule)
    assert await counts(client, carol, room_id) == (2, 1)
    assert await counts(client, bob, room_id) == (2, 1)


async def test_room_mentions_need_the_power_to_notify_the_room(client: TestClient) -> None:
    alice, bob, carol, room_id = await group(client)
    everyone = {"m.mentions": {"room": True}}
    await send(client, carol, room_id, "@room listen up", **everyone)  # power level 0
    assert await counts(client, bob, room_id) == (1, 0)
    await send(client, alice, room_id, "@room listen up", **everyone)  # the creator, 100
    assert await counts(client, bob, room_id) == (2, 1)
    await send(client, alice, room_id, "@room legacy style")  # .m.rule.roomnotif
    assert await counts(client, bob, room_id) == (3, 2)


async def test_one_to_one_rooms_notify(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    await send(client, alice, room_id, "just us")
    assert await counts(client, bob, room_id) == (1, 0)
    notice = {"msgtype": "m.notice"}
    await send(client, alice, room_id, "a bot speaking", **notice)  # .m.rule.suppress_notices
    assert await counts(client, bob, room_id) == (1, 0)


async def test_users_rules_change_what_notifies(client: TestClient) -> None:
    alice, bob, _carol, room_id = await group(client)
    token = bob.access_token
    rules = f"{V3}/pushrules/global"
    (
        await client.put(
            f"{rules}/underride/.m.rule.message/enabled", json={"enabled": False}, token=token
        )
    ).ok()
    await send(client, alice, room_id, "small talk")
    assert await counts(client, bob, room_id) == (0, 0)
    pizza = {"pattern": "pizza", "actions": ["notify", {"set_tweak": "highlight"}]}
    (await client.put(f"{rules}/content/pizza", json=pizza, token=token)).ok()
    await send(client, alice, room_id, "pizza is here")
    assert await counts(client, bob, room_id) == (1, 1)
    # A room rule ranks below content rules (override, content, room, sender,
    # underride): pizza still gets through ...
    (await client.put(f"{rules}/room/{q(room_id)}", json={"actions": []}, token=token)).ok()
    await send(client, alice, room_id, "more pizza")
    assert await counts(client, bob, room_id) == (2, 2)
    # ... while muting with an override rule silences everything in the room.
    mute = {
        "conditions": [{"kind": "event_match", "key": "room_id", "pattern": room_id}],
        "actions": [],
    }
    (await client.put(f"{rules}/override/{q(room_id)}", json=mute, token=token)).ok()
    await send(client, alice, room_id, "pizza again")
    assert await counts(client, bob, room_id) == (2, 2)
    # The master rule silences everything everywhere.
    (await client.delete(f"{rules}/override/{q(room_id)}", token=token)).ok()
    master = f"{rules}/override/.m.rule.master/enabled"
    (await client.put(master, json={"enabled": True}, token=token)).ok()
    await send(client, alice, room_id, "last pizza")
    assert await counts(client, bob, room_id) == (2, 2)
