"""What our server sends a server that joins a room, and catch-up for one that
was down long enough for its queue to be trimmed; in process, the remote
server recording the transactions it is sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from federation.outbound import queue
from homeserver.config import Config
from tests.conftest import make_config
from tests.federation.remote_peer import Local, RemotePeer, local_server, pdu_event_id, q
from tests.matrix_client import User

REMOTE = "remote.example.org"
BOB = f"@bob:{REMOTE}"


@dataclass
class Room:
    local: Local
    remote: RemotePeer
    alice: User
    room_id: str


@pytest.fixture
def federation_config(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Config:
    data_dir = tmp_path_factory.mktemp("federated") / "data"
    return make_config(data_dir, database_url, enable_federation=True, server_name="localhost")


@pytest.fixture
async def room(federation_config: Config, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Room]:
    monkeypatch.setattr(queue, "INITIAL_BACKOFF_SECONDS", 0.01)
    monkeypatch.setattr(queue, "MAX_BACKOFF_SECONDS", 0.05)
    async with local_server(federation_config) as local:
        remote = RemotePeer(REMOTE, local)
        await remote.publish_key()
        remote.serve()
        alice = await local.client.register("alice")
        room_id = await local.client.create_room(alice, preset="public_chat")
        yield Room(local, remote, alice, room_id)


async def join_bob(r: Room) -> str:
    join = await r.remote.build(
        r.room_id, BOB, "m.room.member", {"membership": "join"}, state_key=BOB
    )
    status, body = await r.remote.send([join])
    assert status == 200 and body == {"pdus": {pdu_event_id(join): {}}}, body
    return pdu_event_id(join)


def received_ids(r: Room) -> list[str]:
    return [pdu_event_id(p) for p in r.remote.received]


async def until(condition: object, what: str) -> None:
    """Waits (a bounded number of short sleeps) for `condition()`."""
    for _ in range(1_000):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def queued_pdus(r: Room) -> list[str]:
    items = await r.local.homeserver.storage.federation_rooms.peek_queue(REMOTE, "pdu", 100)
    return [pdu_event_id(i.item) for i in items]


async def test_a_joining_server_gets_what_follows_its_join_only(room: Room) -> None:
    r = room
    before = [await r.local.client.send_text(r.alice, r.room_id, f"old {i}") for i in range(3)]
    await join_bob(r)
    after = [await r.local.client.send_text(r.alice, r.room_id, f"new {i}") for i in range(2)]
    await until(lambda: after[-1] in received_ids(r), "the new messages delivered")
    # Exactly what was sent after the join, once each, in order; nothing older.
    assert received_ids(r) == after
    assert not set(before) & set(received_ids(r))
    # Delivered, the rows leave the queue (just after the answer).
    for _ in range(1_000):
        if await queued_pdus(r) == []:
            break
        await asyncio.sleep(0.01)
    assert await queued_pdus(r) == []


async def test_a_destination_down_long_catches_up_from_the_newest(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = room
    monkeypatch.setattr(queue, "MAX_QUEUED_PDUS", 3)
    bob_join = await join_bob(r)
    r.remote.down = True
    sent = [await r.local.client.send_text(r.alice, r.room_id, f"while down {i}") for i in range(7)]
    # Failed attempts trim the queue to its newest PDUs (in the database too).
    queued: list[str] = []

    async def trimmed() -> bool:
        queued[:] = await queued_pdus(r)
        return queued == sent[-3:]

    for _ in range(1_000):
        if await trimmed():
            break
        await asyncio.sleep(0.01)
    assert queued == sent[-3:]
    assert r.remote.received == []

    r.remote.down = False
    await until(lambda: sent[-1] in received_ids(r), "catch-up delivered")
    assert received_ids(r) == sent[-3:]  # the newest, in order, once each
    # The rest the remote fills with get_missing_events, which we serve.
    status, body = await r.remote.request(
        "POST",
        f"/_matrix/federation/v1/get_missing_events/{q(r.room_id)}",
        {"earliest_events": [bob_join], "latest_events": [sent[-3]], "limit": 10},
    )
    assert status == 200, body
    assert sorted(pdu_event_id(e) for e in body["events"]) == sorted(sent[:-3])
    # Later messages go out live again.
    last = await r.local.client.send_text(r.alice, r.room_id, "back to normal")
    await until(lambda: last in received_ids(r), "a live message delivered")
    assert received_ids(r) == [*sent[-3:], last]
