"""The push queue: sending never waits for a push service, bursts are
absorbed, and a full queue drops nothing silently."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from homeserver.push.attention import AttentionRegistry
from homeserver.push.dispatcher import DispatchSettings, PushDispatcher
from homeserver.server import HomeServer
from homeserver.storage.pushers import push_stores
from tests.matrix_client import TestClient
from tests.notifications.conftest import direct_chat, dm_with_pusher, set_pusher, settle
from tests.notifications.push_service import PushService


async def test_sending_does_not_wait_for_a_slow_push_service(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, _bob, room_id, _browser = await dm_with_pusher(client, server, push_service)
    push_service.answer("/wpush/bob", 201, delay=3.0)
    started = time.monotonic()
    await client.send_text(alice, room_id, "are you there?")
    assert time.monotonic() - started < 1.0
    await push_service.wait_for("/wpush/bob", 1)
    # Shutting down with the push still in flight does not hang (the fixture).


async def test_a_burst_of_messages_is_pushed_completely(
    client: TestClient, server: HomeServer, push_service: PushService
) -> None:
    alice, _bob, room_id, browser = await dm_with_pusher(client, server, push_service)
    sent = [await client.send_text(alice, room_id, f"message {i}") for i in range(40)]
    await settle(server)
    received = push_service.received["/wpush/bob"]
    assert sorted(browser.decrypt(r.body)["event_id"] for r in received) == sorted(sent)
    stats = server.push.dispatcher.stats
    assert (stats.events_dropped, stats.deliveries_dropped) == (0, 0)


async def test_a_full_queue_is_logged_and_counted(
    client: TestClient, server: HomeServer, caplog: pytest.LogCaptureFixture
) -> None:
    _rules, pusher_store = push_stores(server.storage)
    dispatcher = PushDispatcher(
        server.storage, pusher_store, AttentionRegistry(), {}, DispatchSettings(queue_size=2)
    )  # not started: nothing takes events off the queue
    event = {"type": "m.room.message", "room_id": "!r:localhost", "sender": "@a:localhost"}
    with caplog.at_level(logging.WARNING, logger="homeserver.push.dispatcher"):
        for i in range(5):
            await dispatcher.enqueue({**event, "event_id": f"$e{i}", "content": {}})
    assert dispatcher.stats.events_queued == 2
    assert dispatcher.stats.events_dropped == 3
    assert [r.getMessage() for r in caplog.records].count(
        "push queue full: no pushes for this event"
    ) == 3
    # State events that cannot notify are not even queued.
    await dispatcher.enqueue({**event, "type": "m.room.topic", "state_key": "", "event_id": "$s"})
    assert dispatcher.stats.events_dropped == 3


async def test_events_cost_no_push_reads_until_someone_has_a_pusher(
    client: TestClient,
    server: HomeServer,
    push_service: PushService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await direct_chat(client, alice, bob)
    pushers = server.push.dispatcher._pushers
    reads: list[str] = []
    real = pushers.notifications_for_event

    async def counted(event_id: str) -> list[object]:
        reads.append(event_id)
        return list(await real(event_id))

    monkeypatch.setattr(pushers, "notifications_for_event", counted)
    for i in range(5):
        await client.send_text(alice, room_id, f"nobody listens {i}")
    await settle(server)
    assert reads == []

    # Setting a pusher is noticed at once (no waiting for the cache to expire).
    await set_pusher(client, bob, push_service.subscription("bob").pusher())
    pushed = await client.send_text(alice, room_id, "now bob listens")
    await push_service.wait_for("/wpush/bob", 1)
    assert reads[-1] == pushed


async def test_who_watched_is_noted_when_the_event_arrives_not_when_a_worker_gets_to_it(
    client: TestClient,
    server: HomeServer,
    push_service: PushService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob, room_id, browser = await dm_with_pusher(client, server, push_service)

    # The workers are busy: nothing is processed until the gate opens.
    gate = asyncio.Event()
    dispatcher = server.push.dispatcher
    process = dispatcher._process

    async def held(event: dict[str, Any], watched_by: frozenset[str], position: int) -> None:
        await gate.wait()
        await process(event, watched_by, position)

    monkeypatch.setattr(dispatcher, "_process", held)
    attention = server.push.attention
    tab = object()
    attention.report(tab, bob.user_id, bob.device_id, room_id, True)
    await client.send_text(alice, room_id, "seen as it arrived")
    attention.report(tab, bob.user_id, bob.device_id, room_id, False)  # then looked away
    unseen = await client.send_text(alice, room_id, "sent while away")
    gate.set()
    await settle(server)
    received = push_service.received["/wpush/bob"]
    assert [browser.decrypt(r.body)["event_id"] for r in received] == [unseen]


def test_attention_follows_each_connection() -> None:
    attention = AttentionRegistry()
    phone, laptop = object(), object()
    attention.report(phone, "@bob:x", "PHONE", "!a:x", True)
    attention.report(laptop, "@bob:x", "LAPTOP", "!a:x", True)
    assert attention.watchers("!a:x") == {"@bob:x"}
    attention.report(phone, "@bob:x", "PHONE", "!b:x", True)  # the phone switched rooms
    assert attention.is_watching("@bob:x", "!a:x") and attention.is_watching("@bob:x", "!b:x")
    attention.report(laptop, "@bob:x", "LAPTOP", "!a:x", False)  # the laptop lost focus
    assert not attention.is_watching("@bob:x", "!a:x")
    assert attention.watchers("!a:x") == frozenset()
    attention.report(laptop, "@bob:x", "LAPTOP", None, True)  # no room on screen
    attention.forget(phone)
    assert attention.watchers("!b:x") == frozenset()
    attention.forget(laptop)
    attention.forget(laptop)  # twice is harmless
    assert not attention._watching and not attention._by_user
