"""Rooms with m.room.encryption work as any other room: encrypted events are
stored and served as sent, notify by the default `.m.rule.encrypted` and
`.m.rule.encrypted_room_one_to_one` rules, and count as unread."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from homeserver.storage.tables import event_push_actions, events
from tests.e2ee.helpers import shared_room
from tests.matrix_client import V3, TestClient, User, q

_txn = iter(range(1, 10_000))
CIPHERTEXT = {
    "algorithm": "m.megolm.v1.aes-sha2",
    "sender_key": "c2VuZGVyIGtleQ",
    "device_id": "ALICEDEVICE",
    "session_id": "c2Vzc2lvbg",
    "ciphertext": "QW5kIG5vdyBmb3Igc29tZXRoaW5nIGNvbXBsZXRlbHkgZGlmZmVyZW50",
}


async def send_encrypted(client: TestClient, user: User, room_id: str) -> str:
    url = f"{V3}/rooms/{q(room_id)}/send/m.room.encrypted/enc{next(_txn)}"
    return str((await client.put(url, json=CIPHERTEXT, token=user.access_token)).ok()["event_id"])


async def unread(client: TestClient, user: User, room_id: str) -> dict[str, Any]:
    return dict((await client.sync(user))["rooms"]["join"][room_id]["unread_notifications"])


async def stored_actions(client: TestClient, user: User, event_id: str) -> list[Any]:
    engine = client.app.extensions["homeserver"].storage.engine
    async with engine.connect() as conn:
        text = await conn.scalar(
            select(event_push_actions.c.actions).where(
                event_push_actions.c.user_id == user.user_id,
                event_push_actions.c.event_id == event_id,
            )
        )
    return list(orjson.loads(text))


async def test_encrypted_messages_in_a_dm_notify_with_sound(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await shared_room(client, alice, bob)
    event_id = await send_encrypted(client, alice, room_id)
    assert await unread(client, bob, room_id) == {"notification_count": 1, "highlight_count": 0}
    actions = await stored_actions(client, bob, event_id)
    assert actions[0] == "notify"
    assert {"set_tweak": "sound", "value": "default"} in actions
    timeline = (await client.sync(bob))["rooms"]["join"][room_id]["timeline"]["events"]
    served = next(e for e in timeline if e["event_id"] == event_id)
    assert (served["type"], served["content"]) == ("m.room.encrypted", CIPHERTEXT)
    state = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/state/m.room.encryption/", token=bob.access_token
        )
    ).ok()
    assert state == {"algorithm": "m.megolm.v1.aes-sha2"}


async def test_encrypted_messages_in_a_group_notify(client: TestClient) -> None:
    alice, bob, carol = [await client.register(n) for n in ("alice", "bob", "carol")]
    room_id = await shared_room(client, alice, bob, carol)
    event_id = await send_encrypted(client, alice, room_id)
    await send_encrypted(client, alice, room_id)
    for user in (bob, carol):
        assert await unread(client, user, room_id) == {
            "notification_count": 2,
            "highlight_count": 0,
        }
    actions = await stored_actions(client, bob, event_id)
    assert actions[0] == "notify"
    assert not any(isinstance(a, dict) and a.get("set_tweak") == "sound" for a in actions)
    assert (await unread(client, alice, room_id))["notification_count"] == 0


async def test_the_database_holds_only_the_ciphertext(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await shared_room(client, alice, bob)
    event_id = await send_encrypted(client, alice, room_id)
    engine = client.app.extensions["homeserver"].storage.engine
    async with engine.connect() as conn:
        text = await conn.scalar(select(events.c.json).where(events.c.event_id == event_id))
    assert orjson.loads(text)["content"] == CIPHERTEXT
