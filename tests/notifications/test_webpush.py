"""Web Push end to end, in process: the server pushes to a local push service
on 127.0.0.1, which decrypts each push with the subscription's private key and
auth secret and verifies the VAPID signature."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from homeserver.app import create_app
from homeserver.push.dispatcher import DispatchSettings
from homeserver.push.retry import RetryPolicy
from homeserver.server import HomeServer
from tests.conftest import make_config
from tests.matrix_client import V3, TestClient, User, q
from tests.notifications.conftest import (
    FAST_RETRIES,
    direct_chat,
    dm_with_pusher,
    pushers,
    set_pusher,
    settle,
)
from tests.notifications.push_service import PushService, verify_vapid

SOCKET_PATH = "/_matrix/client/unstable/homeserver.sync/ws"


async def set_displayname(client: TestClient, user: User, name: str) -> None:
    url = f"{V3}/profile/{q(user.user_id)}/displayname"
    (await client.put(url, json={"displayname": name}, token=user.access_token)).ok()


async def unread(client: TestClient, user: User, room_id: str) -> dict[str, int]:
    sync = await client.sync(user)
    return dict(sync["rooms"]["join"][room_id]["unread_notifications"])


async def test_a_direct_message_is_pushed_once_encrypted_and_signed(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await set_displayname(client, alice, "Alice Liddell")
    room_id = await direct_chat(client, alice, bob)
    await settle(server)
    bob_browser = push_service.subscription("bob")
    alice_browser = push_service.subscription("alice")
    await set_pusher(client, bob, bob_browser.pusher())
    await set_pusher(client, alice, alice_browser.pusher())
    capability = (await client.get(f"{V3}/capabilities", token=bob.access_token)).ok()
    vapid_key = capability["capabilities"]["m.webpush"]["vapid"]

    event_id = await client.send_text(alice, room_id, "Lunch at noon?")
    await settle(server)

    [push] = push_service.received["/wpush/bob"]
    assert push_service.received["/wpush/alice"] == []  # never your own messages
    assert push.headers["content-encoding"] == "aes128gcm"
    assert push.headers["ttl"] == "86400"
    assert push.headers["urgency"] == "high"
    key, claims = verify_vapid(push.headers["authorization"], push_service.origin)
    assert key == vapid_key
    assert claims["sub"] == "mailto:postmaster@localhost"
    payload = bob_browser.decrypt(push.body)
    counts = await unread(client, bob, room_id)
    assert payload == {
        "room_id": room_id,
        "event_id": event_id,
        "sender": alice.user_id,
        "sender_display_name": "Alice Liddell",
        "body": "Lunch at noon?",
        # The same decisions as the unread counts: they never disagree.
        "unread": counts["notification_count"],
        "prio": "high",
    }
    assert counts["notification_count"] >= 1
    assert server.push.dispatcher.stats.delivered == 1


async def test_group_messages_carry_the_room_name_and_low_priority(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, bob, carol = [await client.register(n) for n in ("alice", "bob", "carol")]
    room_id = await client.create_room(alice, preset="public_chat", name="Book club")
    for user in (bob, carol):
        (await client.join(user, room_id)).ok()
    browser = push_service.subscription("bob")
    await set_pusher(client, bob, browser.pusher())
    long_text = "x" * 500
    await client.send_text(alice, room_id, long_text)
    await settle(server)
    [push] = push_service.received["/wpush/bob"]
    payload = browser.decrypt(push.body)
    assert payload["room_name"] == "Book club"
    assert payload["prio"] == "low"
    assert push.headers["urgency"] == "normal"
    assert len(payload["body"]) == 200  # a short preview, never the whole message
    assert payload["unread"] == 1


async def test_a_muted_room_is_not_pushed(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, bob, room_id, _browser = await dm_with_pusher(client, server, push_service)
    before = await unread(client, bob, room_id)
    mute = {
        "conditions": [{"kind": "event_match", "key": "room_id", "pattern": room_id}],
        "actions": [],
    }
    url = f"{V3}/pushrules/global/override/{q(room_id)}"
    (await client.put(url, json=mute, token=bob.access_token)).ok()

    await client.send_text(alice, room_id, "anyone?")
    await settle(server)
    assert push_service.received["/wpush/bob"] == []
    assert await unread(client, bob, room_id) == before  # nor counted as unread

    (await client.delete(url, token=bob.access_token)).ok()
    await client.send_text(alice, room_id, "now?")
    await settle(server)
    assert len(push_service.received["/wpush/bob"]) == 1


async def _focus(ws: Any, room_id: str | None, focused: bool) -> None:
    """Sends a focus frame and waits until the server has read it (frames are
    read in order: the pong comes after)."""
    await ws.send(orjson.dumps({"type": "focus", "room_id": room_id, "focused": focused}))
    await ws.send(orjson.dumps({"type": "ping"}))
    while True:
        frame = orjson.loads(await ws.receive())
        if frame["type"] == "pong":
            return
        assert frame["type"] in ("sync", "ping"), frame


async def test_a_user_looking_at_the_room_is_not_pushed(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, bob, room_id, _browser = await dm_with_pusher(client, server, push_service)
    path = "/wpush/bob"

    async with client.app.test_client().websocket(
        SOCKET_PATH, subprotocols=["homeserver.sync.v1"]
    ) as ws:
        await ws.send(orjson.dumps({"type": "start", "access_token": bob.access_token}))
        assert orjson.loads(await ws.receive())["type"] == "ready"

        await _focus(ws, room_id, True)
        await client.send_text(alice, room_id, "you are reading this live")
        await settle(server)
        assert push_service.received[path] == []

        await _focus(ws, "!another:localhost", True)  # looking at another room
        await client.send_text(alice, room_id, "one")
        await settle(server)
        assert len(push_service.received[path]) == 1

        await _focus(ws, room_id, False)  # the tab went to the background
        await client.send_text(alice, room_id, "two")
        await settle(server)
        assert len(push_service.received[path]) == 2

        await ws.send(orjson.dumps({"type": "focus", "room_id": room_id, "focused": "yes"}))
        error = orjson.loads(await ws.receive())
        while error["type"] != "error":
            error = orjson.loads(await ws.receive())
        assert error["errcode"] == "M_BAD_JSON"

        await _focus(ws, room_id, True)
        assert server.push.attention.is_watching(bob.user_id, room_id)
    # The connection closed: its focus no longer counts (once the server has
    # wound the connection down, which nothing signals to the test).
    async with asyncio.timeout(5):
        while server.push.attention.is_watching(bob.user_id, room_id):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await client.send_text(alice, room_id, "three")
    await settle(server)
    assert len(push_service.received[path]) == 3


async def test_gone_subscription_removes_the_pusher(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, bob, room_id, _browser = await dm_with_pusher(client, server, push_service)
    push_service.answer("/wpush/bob", 410)
    await client.send_text(alice, room_id, "hello?")
    await settle(server)
    assert len(push_service.received["/wpush/bob"]) == 1
    assert await pushers(client, bob) == []
    assert server.push.dispatcher.stats.pushers_removed == 1
    await client.send_text(alice, room_id, "hello??")
    await settle(server)
    assert len(push_service.received["/wpush/bob"]) == 1


async def test_server_errors_are_retried_with_back_off(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, bob, room_id, browser = await dm_with_pusher(client, server, push_service)
    push_service.answer("/wpush/bob", 500)
    push_service.answer("/wpush/bob", 503)
    event_id = await client.send_text(alice, room_id, "third time lucky")
    await settle(server)
    attempts = push_service.received["/wpush/bob"]
    assert len(attempts) == 3
    assert {browser.decrypt(a.body)["event_id"] for a in attempts} == {event_id}
    stats = server.push.dispatcher.stats
    assert (stats.retried, stats.delivered, stats.failed) == (2, 1, 0)
    assert len(await pushers(client, bob)) == 1  # kept


async def test_rate_limited_pushes_wait_for_retry_after(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    # Without the service's Retry-After the back-off would be 30 s.
    server.push.dispatcher.settings = DispatchSettings(
        retry=RetryPolicy(max_attempts=3, base_delay_seconds=30, max_delay_seconds=60)
    )
    alice, _bob, room_id, _browser = await dm_with_pusher(client, server, push_service)
    push_service.answer("/wpush/bob", 429, {"Retry-After": "0"})
    started = time.monotonic()
    await client.send_text(alice, room_id, "hi")
    await push_service.wait_for("/wpush/bob", 2, timeout=5)
    assert time.monotonic() - started < 5
    await settle(server)


async def test_failures_give_up_after_the_last_attempt(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, bob, room_id, _browser = await dm_with_pusher(client, server, push_service)
    for _ in range(FAST_RETRIES.max_attempts):
        push_service.answer("/wpush/bob", 502)
    await client.send_text(alice, room_id, "hi")
    await settle(server)
    assert len(push_service.received["/wpush/bob"]) == FAST_RETRIES.max_attempts
    assert server.push.dispatcher.stats.failed == 1
    assert len(await pushers(client, bob)) == 1


async def test_each_device_gets_its_push_until_it_signs_out(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await direct_chat(client, alice, bob)
    await settle(server)
    login = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "bob"},
        "password": bob.password,
    }
    phone = (await client.post(f"{V3}/login", json=login)).ok()
    laptop_browser = push_service.subscription("bob-laptop")
    phone_browser = push_service.subscription("bob-phone")
    await set_pusher(client, bob, laptop_browser.pusher())
    phone_pusher = phone_browser.pusher(app_id="org.example.phone")
    url = f"{V3}/pushers/set"
    (await client.post(url, json=phone_pusher, token=phone["access_token"])).ok()

    await client.send_text(alice, room_id, "to both")
    await settle(server)
    assert len(push_service.received["/wpush/bob-laptop"]) == 1
    assert len(push_service.received["/wpush/bob-phone"]) == 1

    (await client.post(f"{V3}/logout", json={}, token=phone["access_token"])).ok()
    await client.send_text(alice, room_id, "laptop only")
    await settle(server)
    assert len(push_service.received["/wpush/bob-laptop"]) == 2
    assert len(push_service.received["/wpush/bob-phone"]) == 1
    assert [p["app_id"] for p in await pushers(client, bob)] == ["org.example.web"]


async def test_pushes_are_checked_against_the_guard_again_before_sending(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, _bob, room_id, _browser = await dm_with_pusher(client, server, push_service)
    # As if 127.0.0.1 had been a public address at registration (DNS changes).
    server.push.guard.allow_private_addresses = False
    await client.send_text(alice, room_id, "hi")
    await settle(server)
    assert push_service.received["/wpush/bob"] == []
    assert server.push.dispatcher.stats.failed == 1


@contextlib.asynccontextmanager
async def _private_server(tmp_path: Path, database_url: str) -> AsyncIterator[TestClient]:
    config = make_config(
        tmp_path / "private",
        database_url,
        push_allow_private_addresses=True,
        push_include_content=False,
    )
    app = create_app(config)
    async with app.test_app() as test_app:
        yield TestClient(test_app.test_client(), test_app.app)


async def test_content_is_left_out_when_configured(
    tmp_path: Path, database_url: str, push_service: PushService
) -> None:
    async with _private_server(tmp_path, database_url) as client:
        server: HomeServer = client.app.extensions["homeserver"]
        server.push.dispatcher.settings = DispatchSettings(retry=FAST_RETRIES)
        alice, _bob, room_id, browser = await dm_with_pusher(client, server, push_service)
        await client.send_text(alice, room_id, "my secret plans")
        await settle(server)
        [push] = push_service.received["/wpush/bob"]
        payload = browser.decrypt(push.body)
        assert "body" not in payload
        assert payload["sender"] == alice.user_id and payload["room_id"] == room_id
        assert b"secret" not in push.body
