"""http pushers: the Matrix push gateway API request, checked field by field
at a local gateway on 127.0.0.1."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from homeserver.push.ssrf import Destination
from homeserver.server import HomeServer
from tests.matrix_client import V3, TestClient, User, q
from tests.notifications.conftest import pushers, set_pusher, settle
from tests.notifications.push_service import PushService

NOTIFY = "/_matrix/push/v1/notify"


def http_pusher(service: PushService, pushkey: str, **data: Any) -> dict[str, Any]:
    return {
        "kind": "http",
        "app_id": "org.example.ios",
        "pushkey": pushkey,
        "app_display_name": "Example for iOS",
        "device_display_name": "Bob's phone",
        "profile_tag": "phone",
        "lang": "en-GB",
        "data": {"url": service.url(NOTIFY), **data},
    }


def notifications_for(service: PushService, pushkey: str) -> list[dict[str, Any]]:
    found = []
    for request in service.received[NOTIFY]:
        body = orjson.loads(request.body)
        if body["notification"]["devices"][0]["pushkey"] == pushkey:
            found.append(body["notification"])
    return found


async def group_of_three(client: TestClient) -> tuple[User, User, User, str]:
    alice, bob, carol = [await client.register(n) for n in ("alice", "bob", "carol")]
    url = f"{V3}/profile/{q(alice.user_id)}/displayname"
    (await client.put(url, json={"displayname": "Alice"}, token=alice.access_token)).ok()
    room_id = await client.create_room(
        alice, preset="public_chat", name="Lunch", room_alias_name="lunch"
    )
    for user in (bob, carol):
        (await client.join(user, room_id)).ok()
    return alice, bob, carol, room_id


async def test_gateway_receives_the_push_gateway_api_notification(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, bob, _carol, room_id = await group_of_three(client)
    await set_pusher(client, bob, http_pusher(push_service, "apns-token", custom="kept"))
    first = await client.send_text(alice, room_id, "pizza?")
    second = await client.send_text(alice, room_id, "or sushi?")
    await settle(server)

    [one, two] = notifications_for(push_service, "apns-token")
    assert {one["event_id"], two["event_id"]} == {first, second}
    latest = one if one["event_id"] == second else two
    [device] = latest["devices"]
    assert isinstance(device.pop("pushkey_ts"), int)
    assert device == {
        "app_id": "org.example.ios",
        "pushkey": "apns-token",
        # The pusher's data minus the url (the spec: forwarded as is).
        "data": {"custom": "kept"},
        "tweaks": {"highlight": False},
    }
    del latest["devices"]
    assert latest == {
        "event_id": second,
        "room_id": room_id,
        "type": "m.room.message",
        "sender": alice.user_id,
        "sender_display_name": "Alice",
        "room_name": "Lunch",
        "room_alias": "#lunch:localhost",
        "prio": "low",
        "content": {"msgtype": "m.text", "body": "or sushi?"},
        # Unread messages across all of bob's rooms, after this one.
        "counts": {"unread": 2},
    }
    request = next(r for r in push_service.received[NOTIFY])
    assert request.headers["content-type"] == "application/json"

    # Reading the room brings the count down.
    receipt = f"{V3}/rooms/{q(room_id)}/receipt/m.read/{q(second)}"
    (await client.post(receipt, json={}, token=bob.access_token)).ok()
    await client.send_text(alice, room_id, "@bob you there?")
    await settle(server)
    assert notifications_for(push_service, "apns-token")[-1]["counts"] == {"unread": 1}


async def test_event_id_only_format_sends_only_ids_and_counts(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, bob, _carol, room_id = await group_of_three(client)
    pusher = http_pusher(push_service, "fcm-token", format="event_id_only")
    await set_pusher(client, bob, pusher)
    event_id = await client.send_text(alice, room_id, "secret")
    await settle(server)
    [notification] = notifications_for(push_service, "fcm-token")
    assert set(notification) == {"event_id", "room_id", "counts", "prio", "devices"}
    assert notification["event_id"] == event_id
    assert notification["devices"][0]["data"] == {"format": "event_id_only"}
    assert b"secret" not in push_service.received[NOTIFY][0].body


async def test_mentions_are_high_priority_with_highlight_and_sound(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, bob, _carol, room_id = await group_of_three(client)
    await set_pusher(client, bob, http_pusher(push_service, "apns-token"))
    content = {"msgtype": "m.text", "body": "bob: look", "m.mentions": {"user_ids": [bob.user_id]}}
    url = f"{V3}/rooms/{q(room_id)}/send/m.room.message/m1"
    (await client.put(url, json=content, token=alice.access_token)).ok()
    await settle(server)
    [notification] = notifications_for(push_service, "apns-token")
    assert notification["prio"] == "high"
    assert notification["devices"][0]["tweaks"] == {"sound": "default", "highlight": True}


async def test_rejected_pushkeys_are_removed(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, bob, _carol, room_id = await group_of_three(client)
    await set_pusher(client, bob, http_pusher(push_service, "old-token"))
    push_service.answer(NOTIFY, 200, body={"rejected": ["old-token"]})
    await client.send_text(alice, room_id, "hello")
    await settle(server)
    assert await pushers(client, bob) == []


async def test_gateway_errors_are_retried_and_invites_are_pushed(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await set_pusher(client, bob, http_pusher(push_service, "apns-token"))
    push_service.answer(NOTIFY, 502)
    room_id = await client.create_room(alice, preset="private_chat", name="Secret")
    (await client.invite(alice, room_id, bob.user_id)).ok()
    await settle(server)
    attempts = notifications_for(push_service, "apns-token")
    assert len(attempts) == 2
    invite = attempts[-1]
    assert invite["type"] == "m.room.member"
    assert invite["user_is_target"] is True
    assert invite["content"]["membership"] == "invite"
    assert invite["prio"] == "high"  # .m.rule.invite_for_me plays a sound


async def test_the_next_checked_address_is_tried_when_one_refuses_connections(
    client: TestClient,
    server: HomeServer,
    push_service: PushService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob, _carol, room_id = await group_of_three(client)
    await set_pusher(client, bob, http_pusher(push_service, "apns-token"))
    guard = server.push.guard
    real_check = guard.check

    async def two_addresses(url: str) -> Destination:
        checked = await real_check(url)
        # Nothing listens on 127.0.0.2: as if the name's first address were down.
        return replace(checked, addresses=("127.0.0.2", *checked.addresses))

    monkeypatch.setattr(guard, "check", two_addresses)
    await client.send_text(alice, room_id, "hello")
    await settle(server)
    assert len(notifications_for(push_service, "apns-token")) == 1
    assert server.push.dispatcher.stats.delivered == 1
