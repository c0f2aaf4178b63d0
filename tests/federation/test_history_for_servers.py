"""`/backfill` and `/get_missing_events` served to another server, in process:
each event is returned only if one of that server's users could see it
under the room's history visibility at the event (or it was world readable);
the walk goes on through the others, so what it may see further back is
still found."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from federation.backfill import Backfill
from homeserver.config import Config
from homeserver.events import generate_signing_key, get_room_version
from tests.conftest import make_config
from tests.federation.remote_peer import Local, RemotePeer, local_server, pdu_event_id, q
from tests.matrix_client import V3, User

REMOTE = "remote.example.org"
BOB = f"@bob:{REMOTE}"


@pytest.fixture
def federation_config(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Config:
    data_dir = tmp_path_factory.mktemp("federated") / "data"
    return make_config(data_dir, database_url, enable_federation=True, server_name="localhost")


@pytest.fixture
async def local(federation_config: Config) -> AsyncIterator[Local]:
    async with local_server(federation_config) as server:
        yield server


async def set_visibility(local: Local, alice: User, room_id: str, value: str) -> None:
    path = f"{V3}/rooms/{q(room_id)}/state/m.room.history_visibility/"
    body = {"history_visibility": value}
    (await local.client.put(path, json=body, token=alice.access_token)).ok()


def texts(pdus: list[dict[str, Any]]) -> list[str]:
    return [p["content"]["body"] for p in pdus if p["type"] == "m.room.message"]


async def room_bob_joins_late(local: Local, visibility: str) -> tuple[RemotePeer, str, str]:
    """Alice's room: two messages, Bob (remote) joins, one more. Returns the
    peer, the room and the last event."""
    remote = RemotePeer(REMOTE, local)
    await remote.publish_key()
    alice = await local.client.register("alice")
    room_id = await local.client.create_room(alice, preset="public_chat")
    await set_visibility(local, alice, room_id, visibility)
    await local.client.send_text(alice, room_id, "before 1")
    await local.client.send_text(alice, room_id, "before 2")
    join = await remote.build(room_id, BOB, "m.room.member", {"membership": "join"}, state_key=BOB)
    status, body = await remote.send([join])
    assert status == 200 and body["pdus"][pdu_event_id(join)] == {}, body
    last = await local.client.send_text(alice, room_id, "after")
    return remote, room_id, last


async def backfill(remote: RemotePeer, room_id: str, start: str) -> list[dict[str, Any]]:
    status, body = await remote.request(
        "GET", f"/_matrix/federation/v1/backfill/{q(room_id)}?v={q(start)}&limit=50"
    )
    assert status == 200, body
    return list(body["pdus"])


async def missing(remote: RemotePeer, room_id: str, latest: str) -> list[dict[str, Any]]:
    status, body = await remote.request(
        "POST",
        f"/_matrix/federation/v1/get_missing_events/{q(room_id)}",
        {"latest_events": [latest], "earliest_events": [], "limit": 50},
    )
    assert status == 200, body
    return list(body["events"])


async def test_joined_history_is_not_served_to_a_server_that_joined_later(local: Local) -> None:
    remote, room_id, last = await room_bob_joins_late(local, "joined")
    served = await backfill(remote, room_id, last)
    assert texts(served) == ["after"]
    # Bob's own join is his server's to see.
    assert any(p["type"] == "m.room.member" and p["state_key"] == BOB for p in served)
    walked = await missing(remote, room_id, last)
    # `latest_events` themselves are not part of the answer; Bob's join is.
    assert texts(walked) == []
    assert BOB in [p["state_key"] for p in walked if p["type"] == "m.room.member"]


async def test_shared_history_is_served_to_a_server_that_joined_later(local: Local) -> None:
    remote, room_id, last = await room_bob_joins_late(local, "shared")
    served = await backfill(remote, room_id, last)
    assert texts(served) == ["after", "before 2", "before 1"]
    assert served[-1]["type"] == "m.room.create"
    walked = await missing(remote, room_id, last)
    assert texts(walked) == ["before 1", "before 2"]


async def test_a_world_readable_stretch_is_found_behind_a_hidden_one(local: Local) -> None:
    """World readable, then joined (hidden from Bob's server), then Bob joins:
    backfill passes through the hidden stretch and returns the readable one."""
    remote = RemotePeer(REMOTE, local)
    await remote.publish_key()
    alice = await local.client.register("alice")
    room_id = await local.client.create_room(alice, preset="public_chat")
    await set_visibility(local, alice, room_id, "world_readable")
    await local.client.send_text(alice, room_id, "readable")
    await set_visibility(local, alice, room_id, "joined")
    for n in range(5):
        await local.client.send_text(alice, room_id, f"hidden {n}")
    join = await remote.build(room_id, BOB, "m.room.member", {"membership": "join"}, state_key=BOB)
    assert (await remote.send([join]))[0] == 200
    served = await backfill(remote, room_id, pdu_event_id(join))
    assert texts(served) == ["readable"]


async def test_fetched_history_is_checked_and_stored_below_everything(local: Local) -> None:
    """What a server hands back for backfill goes through the PDU checks: a
    forged signature is dropped, a wrong content hash keeps the redacted
    form, an event failing auth is rejected (and recorded); the accepted ones
    are stored at negative positions, found by /messages going back, never
    in /sync, and never stored twice."""
    remote = RemotePeer(REMOTE, local)
    await remote.publish_key()
    alice = await local.client.register("alice")
    room_id = await local.client.create_room(alice, preset="public_chat")
    join = await remote.build(room_id, BOB, "m.room.member", {"membership": "join"}, state_key=BOB)
    assert (await remote.send([join]))[0] == 200
    sync = await local.client.sync(alice)
    since = sync["next_batch"]

    def message(text: str) -> dict[str, Any]:
        return {"msgtype": "m.text", "body": text}

    good = await remote.build(room_id, BOB, "m.room.message", message("good"))
    _, other_key = generate_signing_key()
    forged = await remote.build(room_id, BOB, "m.room.message", message("forged"), key=other_key)
    altered = await remote.build(room_id, BOB, "m.room.message", message("original"))
    altered["content"] = message("altered")  # signed as it was: the hash no longer matches
    eve = await remote.build(room_id, f"@eve:{REMOTE}", "m.room.message", message("not a member"))

    backfill_service = local.homeserver.pagination.remote
    assert isinstance(backfill_service, Backfill)
    version = get_room_version("12")
    progressed, stored = await backfill_service.take(
        REMOTE, room_id, version, [good, forged, altered, eve]
    )
    assert progressed and stored == 2
    events = local.homeserver.storage.events
    held = await events.get_events(pdu_event_id(p) for p in (good, forged, altered, eve))
    assert set(held) == {pdu_event_id(good), pdu_event_id(altered)}
    assert all(e.stream_ordering < 0 for e in held.values())
    assert held[pdu_event_id(altered)].event["content"] == {}
    outcomes = await local.homeserver.storage.federation_rooms.get_outcomes(
        [pdu_event_id(eve), pdu_event_id(forged)]
    )
    assert [o.outcome for o in outcomes.values()] == ["rejected"]
    assert pdu_event_id(eve) in outcomes

    # Paging back from now reaches them after everything stored live.
    path = f"{V3}/rooms/{q(room_id)}/messages"
    page = (
        await local.client.get(path, query={"dir": "b", "limit": "100"}, token=alice.access_token)
    ).ok()
    ids = [e["event_id"] for e in page["chunk"]]
    assert ids[-2:] in (
        [pdu_event_id(good), pdu_event_id(altered)],
        [pdu_event_id(altered), pdu_event_id(good)],
    )
    # /sync moves forwards only: the history is not news.
    later = await local.client.sync(alice, since=since, timeout="0")
    assert room_id not in later.get("rooms", {}).get("join", {})

    # The same answer again stores nothing twice.
    assert await backfill_service.take(REMOTE, room_id, version, [good, altered]) == (True, 0)
