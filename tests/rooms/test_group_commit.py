"""Concurrent sends are committed together (group commit), still as one
linear chain per room, and one event that fails to persist fails only what was
built on it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select

from homeserver.handlers.room_cache import CachedRoom, RoomCache
from homeserver.storage.events import PendingEvent
from homeserver.storage.tables import forward_extremities
from tests.matrix_client import V3, TestClient, q


def _server(client: TestClient) -> Any:
    return client.app.extensions["homeserver"]


async def _timeline(client: TestClient, token: str, room_id: str) -> list[dict[str, Any]]:
    page = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/messages",
            token=token,
            query={"dir": "b", "limit": 100},
        )
    ).ok()
    return list(reversed(page["chunk"]))


async def _extremities(client: TestClient, room_id: str) -> list[str]:
    storage = _server(client).storage
    async with storage.engine.connect() as conn:
        rows = await conn.execute(
            select(forward_extremities.c.event_id).where(forward_extremities.c.room_id == room_id)
        )
        return [row.event_id for row in rows]


async def test_concurrent_sends_share_transactions_and_stay_one_chain(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    sender = _server(client).sender
    batches_before = sender._persister.batches

    sent = await asyncio.gather(
        *(client.send_text(alice, room_id, f"m{i}", txn_id=f"t{i}") for i in range(30))
    )

    batches = sender._persister.batches - batches_before
    assert batches < 30, "every send was committed on its own"
    timeline = await _timeline(client, alice.access_token, room_id)
    messages = [e for e in timeline if e["type"] == "m.room.message"]
    assert sorted(e["event_id"] for e in messages) == sorted(sent)
    # Each event builds on the one before it: no forks, one extremity.
    events = _server(client).storage.events
    stored = [await events.get_event(e["event_id"]) for e in messages]
    for previous, current in itertools.pairwise(stored):
        assert previous is not None and current is not None
        assert current.event["prev_events"] == [previous.event_id]
        assert current.event["depth"] == previous.event["depth"] + 1
    assert await _extremities(client, room_id) == [messages[-1]["event_id"]]


async def test_the_same_transaction_sent_twice_at_once_makes_one_event(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)

    ids = await asyncio.gather(
        *(client.send_text(alice, room_id, "once", txn_id="same") for _ in range(5))
    )

    assert len(set(ids)) == 1
    bodies = [
        e["content"]["body"]
        for e in await _timeline(client, alice.access_token, room_id)
        if e["type"] == "m.room.message"
    ]
    assert bodies == ["once"]


async def test_a_failed_write_fails_only_its_room_and_the_room_recovers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await client.register("alice")
    doomed_room = await client.create_room(alice)
    other_room = await client.create_room(alice)
    doomed_before = await _extremities(client, doomed_room)
    events = _server(client).storage.events
    real = events.persist_events

    async def failing(batch: Sequence[PendingEvent]) -> None:
        if any(p.event["content"].get("body") == "poison" for p in batch):
            raise RuntimeError("disk full")
        await real(batch)

    monkeypatch.setattr(events, "persist_events", failing)

    async def send(room_id: str, body: str, txn: str) -> tuple[int, str | None]:
        response = await client.put(
            f"{V3}/rooms/{q(room_id)}/send/m.room.message/{txn}",
            token=alice.access_token,
            json={"msgtype": "m.text", "body": body},
        )
        return response.status, response.body.get("event_id")

    results = await asyncio.gather(
        send(doomed_room, "poison", "p"),
        *(send(other_room, f"fine {i}", f"f{i}") for i in range(5)),
    )

    assert results[0][0] == 500
    assert all(status == 200 for status, _ in results[1:])
    # The failed event left nothing behind and the room goes on from what was committed.
    assert await _extremities(client, doomed_room) == doomed_before
    monkeypatch.setattr(events, "persist_events", real)
    after = await client.send_text(alice, doomed_room, "after")
    stored = await events.get_event(after)
    assert stored is not None and stored.event["prev_events"] == doomed_before
    bodies = [
        e["content"]["body"]
        for e in await _timeline(client, alice.access_token, doomed_room)
        if e["type"] == "m.room.message"
    ]
    assert bodies == ["after"]


async def test_rooms_with_events_in_flight_are_not_evicted() -> None:
    cache = RoomCache(storage=None, max_rooms=2)  # type: ignore[arg-type]
    busy = cache.new_room("!busy:x")
    busy.in_flight = 1
    cache.new_room("!a:x")
    cache.new_room("!b:x")
    cache.new_room("!c:x")
    assert cache.peek("!busy:x") is busy
    assert isinstance(cache.peek("!c:x"), CachedRoom)
    assert cache.peek("!a:x") is None


async def test_committed_events_are_announced_before_readers_can_reach_them(
    client: TestClient,
) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    server = _server(client)
    settled_when_readable: list[bool] = []
    server.positions.add_listener(
        lambda current: settled_when_readable.append(server.notifier.settled(current))
    )

    await asyncio.gather(*(client.send_text(alice, room_id, f"m{i}") for i in range(20)))

    assert settled_when_readable and all(settled_when_readable)


async def test_draining_waits_for_queued_events(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    server = _server(client)
    persister = server.sender._persister
    events = server.storage.events
    real = events.persist_events

    async def slow(batch: Sequence[PendingEvent]) -> None:
        await asyncio.sleep(0.05)
        await real(batch)

    monkeypatch.setattr(events, "persist_events", slow)
    submitted: list[asyncio.Future[None]] = []
    all_submitted = asyncio.Event()
    real_submit = persister.submit

    def recording_submit(pending: PendingEvent) -> asyncio.Future[None]:
        done = real_submit(pending)
        submitted.append(done)
        if len(submitted) == 10:
            all_submitted.set()
        return done

    monkeypatch.setattr(persister, "submit", recording_submit)
    sends = [
        asyncio.ensure_future(server.sender.send(room_id, alice.user_id, "m.room.message", {}))
        for _ in range(10)
    ]
    await all_submitted.wait()
    assert not all(done.done() for done in submitted)

    await server.sender.drain()

    assert all(done.done() and done.exception() is None for done in submitted)
    assert len({sent.event_id for sent in await asyncio.gather(*sends)}) == 10
