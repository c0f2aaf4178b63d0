"""Typing, receipts, unread counts and presence through the HTTP API."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.matrix_client import V3, TestClient, User, q


def ephemeral(sync: dict[str, Any], room_id: str, event_type: str) -> list[dict[str, Any]]:
    room = sync["rooms"]["join"].get(room_id)
    if room is None:
        return []
    return [e for e in room["ephemeral"]["events"] if e["type"] == event_type]


async def set_typing(
    client: TestClient, user: User, room_id: str, typing: bool, timeout_ms: int = 30000
) -> None:
    body: dict[str, Any] = {"typing": typing}
    if typing:
        body["timeout"] = timeout_ms
    (
        await client.put(
            f"{V3}/rooms/{q(room_id)}/typing/{q(user.user_id)}", json=body, token=user.access_token
        )
    ).ok()


async def two_in_a_room(client: TestClient) -> tuple[User, User, str]:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    return alice, bob, room_id


async def test_typing_shows_then_stops_on_send(client: TestClient) -> None:
    alice, bob, room_id = await two_in_a_room(client)
    since = (await client.sync(bob))["next_batch"]
    await set_typing(client, alice, room_id, True)
    sync = await client.sync(bob, since=since, timeout=5000)
    assert ephemeral(sync, room_id, "m.typing") == [
        {"type": "m.typing", "content": {"user_ids": [alice.user_id]}}
    ]
    await client.send_text(alice, room_id, "done typing")
    after = await client.sync(bob, since=sync["next_batch"], timeout=5000)
    assert ephemeral(after, room_id, "m.typing")[0]["content"]["user_ids"] == []


async def test_typing_expires_by_itself(client: TestClient) -> None:
    alice, bob, room_id = await two_in_a_room(client)
    await set_typing(client, alice, room_id, True, timeout_ms=200)
    shown = await client.sync(bob)
    assert ephemeral(shown, room_id, "m.typing")[0]["content"]["user_ids"] == [alice.user_id]
    expired = await client.sync(bob, since=shown["next_batch"], timeout=5000)
    assert ephemeral(expired, room_id, "m.typing")[0]["content"]["user_ids"] == []


async def test_typing_errors(client: TestClient) -> None:
    alice, bob, room_id = await two_in_a_room(client)
    eve = await client.register("eve")
    url = f"{V3}/rooms/{q(room_id)}/typing/{q(eve.user_id)}"
    (await client.put(url, json={"typing": True}, token=eve.access_token)).error(403, "M_FORBIDDEN")
    other = f"{V3}/rooms/{q(room_id)}/typing/{q(alice.user_id)}"
    (await client.put(other, json={"typing": True}, token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    mine = f"{V3}/rooms/{q(room_id)}/typing/{q(bob.user_id)}"
    (await client.put(mine, json={"typing": "yes"}, token=bob.access_token)).error(
        400, "M_BAD_JSON"
    )


async def test_receipts_and_unread_counts(client: TestClient) -> None:
    alice, bob, room_id = await two_in_a_room(client)
    await client.send_text(alice, room_id, "one")
    await client.send_text(alice, room_id, "hey bob, look")  # mentions bob's name
    last = await client.send_text(alice, room_id, "three")
    sync = await client.sync(bob)
    counts = sync["rooms"]["join"][room_id]["unread_notifications"]
    assert counts == {"notification_count": 3, "highlight_count": 1}
    # The sender's own messages never count for them.
    alice_sync = await client.sync(alice)
    assert alice_sync["rooms"]["join"][room_id]["unread_notifications"]["notification_count"] == 0

    receipt = f"{V3}/rooms/{q(room_id)}/receipt/m.read/{q(last)}"
    (await client.post(receipt, json={}, token=bob.access_token)).ok()
    after = await client.sync(bob, since=sync["next_batch"])
    room = after["rooms"]["join"][room_id]
    assert room["unread_notifications"] == {"notification_count": 0, "highlight_count": 0}
    receipts = [e for e in room["ephemeral"]["events"] if e["type"] == "m.receipt"]
    assert receipts[0]["content"][last]["m.read"][bob.user_id]["ts"] > 0
    # Alice sees bob's public receipt.
    alice_after = await client.sync(alice, since=alice_sync["next_batch"])
    assert bob.user_id in str(ephemeral(alice_after, room_id, "m.receipt"))


async def test_private_receipts_stay_private(client: TestClient) -> None:
    alice, bob, room_id = await two_in_a_room(client)
    event_id = await client.send_text(alice, room_id, "psst")
    since = (await client.sync(alice))["next_batch"]
    url = f"{V3}/rooms/{q(room_id)}/receipt/m.read.private/{q(event_id)}"
    (await client.post(url, json={}, token=bob.access_token)).ok()
    alice_sync = await client.sync(alice, since=since, timeout=200)
    assert bob.user_id not in str(ephemeral(alice_sync, room_id, "m.receipt"))
    bob_sync = await client.sync(bob)
    assert bob.user_id in str(ephemeral(bob_sync, room_id, "m.receipt"))
    assert bob_sync["rooms"]["join"][room_id]["unread_notifications"]["notification_count"] == 0


async def test_read_markers_and_receipt_errors(client: TestClient) -> None:
    alice, bob, room_id = await two_in_a_room(client)
    eve = await client.register("eve")
    event_id = await client.send_text(alice, room_id, "hello")
    markers = f"{V3}/rooms/{q(room_id)}/read_markers"
    (
        await client.post(
            markers, json={"m.fully_read": event_id, "m.read": event_id}, token=bob.access_token
        )
    ).ok()
    fully_read = f"{V3}/user/{q(bob.user_id)}/rooms/{q(room_id)}/account_data/m.fully_read"
    assert (await client.get(fully_read, token=bob.access_token)).ok() == {"event_id": event_id}
    bad_type = f"{V3}/rooms/{q(room_id)}/receipt/m.nonsense/{q(event_id)}"
    (await client.post(bad_type, json={}, token=bob.access_token)).error(400, "M_INVALID_PARAM")
    missing = f"{V3}/rooms/{q(room_id)}/receipt/m.read/{q('$missing')}"
    (await client.post(missing, json={}, token=bob.access_token)).error(404, "M_NOT_FOUND")
    outsider = f"{V3}/rooms/{q(room_id)}/receipt/m.read/{q(event_id)}"
    (await client.post(outsider, json={}, token=eve.access_token)).error(403, "M_FORBIDDEN")


async def test_presence_visible_only_to_room_mates(client: TestClient) -> None:
    alice, bob, _room_id = await two_in_a_room(client)
    eve = await client.register("eve")
    url = f"{V3}/presence/{q(alice.user_id)}/status"
    (
        await client.put(
            url, json={"presence": "online", "status_msg": "at lunch"}, token=alice.access_token
        )
    ).ok()
    status = (await client.get(url, token=bob.access_token)).ok()
    assert status["presence"] == "online" and status["status_msg"] == "at lunch"
    assert status["currently_active"] is True and status["last_active_ago"] >= 0
    (await client.get(url, token=eve.access_token)).error(403, "M_FORBIDDEN")
    bob_sync = await client.sync(bob)
    senders = {e["sender"] for e in bob_sync["presence"]["events"]}
    assert alice.user_id in senders
    eve_sync = await client.sync(eve)
    assert alice.user_id not in {e["sender"] for e in eve_sync["presence"]["events"]}
    (await client.put(url, json={"presence": "dancing"}, token=alice.access_token)).error(
        400, "M_INVALID_PARAM"
    )
    (await client.put(url, json={"presence": "online"}, token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )


async def test_presence_goes_offline_after_last_sync(client: TestClient) -> None:
    alice, bob, _room_id = await two_in_a_room(client)
    server = client.app.extensions["homeserver"]
    await client.sync(alice, timeout=0)
    assert server.presence.content(alice.user_id)["presence"] == "online"
    since = (await client.sync(bob))["next_batch"]
    # Pretend the grace period passed without another sync from alice.
    server.presence._settings = type(server.presence._settings)(offline_grace_seconds=0)
    await asyncio.sleep(0.01)
    await server.presence.expire()
    assert server.presence.content(alice.user_id)["presence"] == "offline"
    sync = await client.sync(bob, since=since, timeout=2000)
    alice_events = [e for e in sync["presence"]["events"] if e["sender"] == alice.user_id]
    assert alice_events[-1]["content"]["presence"] == "offline"


async def test_repeated_syncs_do_not_announce_presence_again(client: TestClient) -> None:
    alice, _bob, _room_id = await two_in_a_room(client)
    server = client.app.extensions["homeserver"]
    await client.sync(alice)
    announced = server.presence.changes_announced
    for _ in range(5):
        await client.sync(alice)
    assert server.presence.changes_announced == announced


async def test_every_device_of_a_user_gets_everything(client: TestClient) -> None:
    alice, bob, room_id = await two_in_a_room(client)
    login = (
        await client.post(
            f"{V3}/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "bob"},
                "password": bob.password,
            },
        )
    ).ok()
    bob_phone = User(bob.user_id, login["access_token"], login["device_id"], bob.password)
    assert bob_phone.device_id != bob.device_id
    desktop_since = (await client.sync(bob))["next_batch"]
    phone_since = (await client.sync(bob_phone))["next_batch"]
    event_id = await client.send_text(alice, room_id, "to all of bob's devices")
    for device, since in ((bob, desktop_since), (bob_phone, phone_since)):
        sync = await client.sync(device, since=since, timeout=2000)
        events = sync["rooms"]["join"][room_id]["timeline"]["events"]
        assert event_id in [e["event_id"] for e in events]
    # Typing and receipts from the phone are bob's, seen on the desktop too.
    await set_typing(client, bob_phone, room_id, True)
    url = f"{V3}/rooms/{q(room_id)}/receipt/m.read/{q(event_id)}"
    (await client.post(url, json={}, token=bob_phone.access_token)).ok()
    desktop = await client.sync(bob, since=desktop_since, timeout=2000)
    assert ephemeral(desktop, room_id, "m.typing")[0]["content"]["user_ids"] == [bob.user_id]
    assert bob.user_id in str(ephemeral(desktop, room_id, "m.receipt"))
    assert desktop["rooms"]["join"][room_id]["unread_notifications"]["notification_count"] == 0


async def test_idle_user_becomes_unavailable_while_syncing(client: TestClient) -> None:
    alice, _bob, _room_id = await two_in_a_room(client)
    server = client.app.extensions["homeserver"]
    await client.sync(alice)
    entry = server.presence._users[alice.user_id]
    entry.last_active_ts -= 10 * 60 * 1000  # ten minutes without doing anything
    await client.sync(alice)  # background syncing is not activity
    await server.presence.expire()
    assert server.presence.content(alice.user_id)["presence"] == "unavailable"
    await client.send_text(alice, _room_id, "back")  # sending is
    assert server.presence.content(alice.user_id)["presence"] == "online"


async def test_presence_of_new_room_mates_is_sent(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await client.sync(alice)  # alice is online
    since = (await client.sync(bob))["next_batch"]
    await asyncio.sleep(0.01)
    # Bob shares no room with alice yet: he sees nothing of her.
    first = await client.sync(bob, since=since)
    assert alice.user_id not in {e["sender"] for e in first["presence"]["events"]}
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    joined = await client.sync(bob, since=first["next_batch"])
    events = [e for e in joined["presence"]["events"] if e["sender"] == alice.user_id]
    assert events and events[0]["content"]["presence"] == "online"


async def test_presence_changes_are_coalesced_into_one_wake_up(
    client: TestClient, monkeypatch: Any
) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice, preset="public_chat")
    others = [await client.register(f"user{i}") for i in range(5)]
    for user in others:
        (await client.join(user, room_id)).ok()
    server = client.app.extensions["homeserver"]
    await asyncio.sleep(0.4)  # earlier announcements flushed
    wakes: list[str] = []
    original = server.notifier.notify_room_ephemeral

    def counting(room: str, stream: str, position: int) -> None:
        wakes.append(room)
        original(room, stream, position)

    monkeypatch.setattr(server.notifier, "notify_room_ephemeral", counting)
    for user in others:  # five people come online at once
        await server.presence.active(user.user_id)
    assert wakes == []  # not yet: changes wait for the coalescing window
    await asyncio.sleep(0.4)
    assert wakes.count(room_id) == 1
