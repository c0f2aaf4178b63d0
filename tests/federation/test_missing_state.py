"""A gap get_missing_events cannot fill (spec "Retrieving state"): the state
before the received event is learnt from its origin with `/state_ids` and the
events we lack fetched with `/event`, checked and kept as outliers (not in
the timeline, not in the current state). In process: the remote server
answers `/state_ids` and `/event` and refuses `get_missing_events`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from homeserver.config import Config
from homeserver.events import generate_signing_key
from homeserver.storage.events import PendingEvent
from tests.conftest import make_config
from tests.federation.remote_peer import Local, RemotePeer, local_server, pdu_event_id, q
from tests.matrix_client import V3, User

REMOTE = "remote.example.org"
BOB = f"@bob:{REMOTE}"
CAROL = f"@carol:{REMOTE}"


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
async def room(federation_config: Config) -> AsyncIterator[Room]:
    async with local_server(federation_config) as local:
        remote = RemotePeer(REMOTE, local)
        await remote.publish_key()
        alice = await local.client.register("alice")
        room_id = await local.client.create_room(
            alice, preset="public_chat", power_level_content_override={"users": {CAROL: 100}}
        )
        remote.serve()
        yield Room(local, remote, alice, room_id)


async def send_ok(r: Room, pdu: dict[str, object]) -> str:
    status, body = await r.remote.send([pdu])
    event_id = pdu_event_id(pdu)
    assert status == 200 and body == {"pdus": {event_id: {}}}, body
    return event_id


async def join(r: Room, user_id: str) -> str:
    pdu = await r.remote.build(
        r.room_id, user_id, "m.room.member", {"membership": "join"}, state_key=user_id
    )
    return await send_ok(r, pdu)


async def outcome(r: Room, event_id: str) -> str | None:
    found = await r.local.homeserver.storage.federation_rooms.get_outcomes([event_id])
    return found[event_id].outcome if event_id in found else None


async def timeline_ids(r: Room, since: str | None = None) -> list[str]:
    sync = await r.local.client.sync(r.alice, since)
    room = sync["rooms"]["join"].get(r.room_id)
    return [e["event_id"] for e in room["timeline"]["events"]] if room else []


async def position(r: Room) -> str:
    return str((await r.local.client.sync(r.alice))["next_batch"])


async def state_before(r: Room) -> dict[str, list[str]]:
    """What the remote answers `/state_ids` with for an event built on our
    current state (the state before it)."""
    ids = await r.local.homeserver.storage.events.get_current_state_ids(r.room_id)
    return {"pdu_ids": sorted(ids.values()), "auth_chain_ids": []}


async def test_an_event_authorised_by_state_learnt_with_state_ids_is_accepted(room: Room) -> None:
    r = room
    events = r.local.homeserver.storage.events
    bob_join = await join(r, BOB)
    depth = int((await events.get_event(bob_join)).event["depth"])  # type: ignore[union-attr]
    state = await events.get_current_state(r.room_id)
    power_levels = state[("m.room.power_levels", "")].event_id
    # On the remote side, unseen by us: Carol joins, then sets the topic.
    carol_join = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.member",
        {"membership": "join"},
        state_key=CAROL,
        prev_events=[bob_join],
        depth=depth + 1,
    )
    carol_join_id = pdu_event_id(carol_join)
    topic = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.topic",
        {"topic": "from afar"},
        state_key="",
        prev_events=[carol_join_id],
        auth_events=sorted([power_levels, carol_join_id]),
        depth=depth + 2,
    )
    topic_id = pdu_event_id(topic)
    r.remote.state_ids[topic_id] = {
        **(await state_before(r)),
        "pdu_ids": sorted([*(await state_before(r))["pdu_ids"], carol_join_id]),
    }
    # Her message, built on the topic: its auth event (her join) and the state
    # before it are only learnt through /state_ids and /event.
    message = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.message",
        {"msgtype": "m.text", "body": "hello over the gap"},
        prev_events=[topic_id],
        auth_events=sorted([power_levels, carol_join_id]),
        depth=depth + 3,
    )
    since = await position(r)
    message_id = await send_ok(r, message)

    paths = [target.split("?")[0] for _, target in r.remote.requests]
    assert any("/get_missing_events/" in p for p in paths)  # asked, refused
    assert any("/state_ids/" in p for p in paths)
    fetched = [p for p in paths if "/event/" in p]
    assert len(fetched) == 2  # Carol's join and the topic, once each
    assert (await events.get_event(message_id)) is not None
    # What was fetched won resolution against our current state: it is
    # current now, stored as history (below every position), not news.
    current = await events.get_current_state(r.room_id)
    assert current[("m.room.member", CAROL)].event_id == carol_join_id
    assert current[("m.room.topic", "")].event_id == topic_id
    for learnt in (carol_join_id, topic_id):
        stored = await events.get_event(learnt)
        assert stored is not None and stored.stream_ordering < 0
        assert await outcome(r, learnt) is None
    # Only the message is news in /sync.
    assert await timeline_ids(r, since) == [message_id]
    members = await r.local.client.get(
        f"{V3}/rooms/{q(r.room_id)}/joined_members", token=r.alice.access_token
    )
    assert CAROL in members.ok()["joined"]
    # Carol's next message builds on the one accepted: judged by that state.
    following = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.message",
        {"msgtype": "m.text", "body": "and again"},
        prev_events=[message_id],
        auth_events=sorted([power_levels, carol_join_id]),
        depth=depth + 4,
    )
    following_id = await send_ok(r, following)
    assert await timeline_ids(r, since) == [message_id, following_id]

    # Sent again, neither the message nor the topic is stored again or fetched for.
    asked = len(r.remote.requests)
    await send_ok(r, message)
    await send_ok(r, topic)
    assert len(r.remote.requests) == asked
    assert await timeline_ids(r, since) == [message_id, following_id]


async def test_an_event_the_fetched_state_forbids_is_rejected(room: Room) -> None:
    r = room
    events = r.local.homeserver.storage.events
    bob_join = await join(r, BOB)
    carol_join = await join(r, CAROL)
    depth = int((await events.get_event(carol_join)).event["depth"])  # type: ignore[union-attr]
    state = await events.get_current_state(r.room_id)
    power_levels = state[("m.room.power_levels", "")].event_id
    # On the remote side, unseen by us: Carol bans Bob.
    ban = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.member",
        {"membership": "ban"},
        state_key=BOB,
        prev_events=[carol_join],
        depth=depth + 1,
    )
    ban_id = pdu_event_id(ban)
    r.remote.state_ids[ban_id] = await state_before(r)
    # Bob's message after the ban cites his old join: our current state (Bob
    # joined) would allow it; the state before it (Bob banned) does not.
    message = await r.remote.build(
        r.room_id,
        BOB,
        "m.room.message",
        {"msgtype": "m.text", "body": "banned but talking"},
        prev_events=[ban_id],
        auth_events=sorted([power_levels, bob_join]),
        depth=depth + 2,
    )
    status, body = await r.remote.send([message])
    message_id = pdu_event_id(message)
    assert status == 200 and "state before" in body["pdus"][message_id]["error"], body
    assert await outcome(r, message_id) == "rejected"
    assert await events.get_event(message_id) is None
    assert await outcome(r, ban_id) == "outlier" and await events.get_event(ban_id) is None
    assert message_id not in await timeline_ids(r)
    assert ban_id not in await timeline_ids(r)


async def test_without_state_from_the_origin_the_current_state_decides(room: Room) -> None:
    """The same message when the origin answers neither get_missing_events nor
    /state_ids: the state before it falls back to the current state."""
    r = room
    events = r.local.homeserver.storage.events
    bob_join = await join(r, BOB)
    carol_join = await join(r, CAROL)
    depth = int((await events.get_event(carol_join)).event["depth"])  # type: ignore[union-attr]
    state = await events.get_current_state(r.room_id)
    power_levels = state[("m.room.power_levels", "")].event_id
    ban = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.member",
        {"membership": "ban"},
        state_key=BOB,
        prev_events=[carol_join],
        depth=depth + 1,
    )
    del r.remote.events[pdu_event_id(ban)]  # the origin will not serve it
    message = await r.remote.build(
        r.room_id,
        BOB,
        "m.room.message",
        {"msgtype": "m.text", "body": "nobody told you"},
        prev_events=[pdu_event_id(ban)],
        auth_events=sorted([power_levels, bob_join]),
        depth=depth + 2,
    )
    message_id = await send_ok(r, message)
    assert (await events.get_event(message_id)) is not None


async def test_fetched_events_failing_their_checks_are_not_kept(room: Room) -> None:
    r = room
    events = r.local.homeserver.storage.events
    bob_join = await join(r, BOB)
    depth = int((await events.get_event(bob_join)).event["depth"])  # type: ignore[union-attr]
    state = await events.get_current_state(r.room_id)
    power_levels = state[("m.room.power_levels", "")].event_id
    # Carol's join as the origin serves it is signed with a key not its own.
    _, other_key = generate_signing_key()
    carol_join = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.member",
        {"membership": "join"},
        state_key=CAROL,
        prev_events=[bob_join],
        depth=depth + 1,
        key=other_key,
    )
    carol_join_id = pdu_event_id(carol_join)
    r.remote.state_ids[carol_join_id] = await state_before(r)
    message = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.message",
        {"msgtype": "m.text", "body": "on a forged join"},
        prev_events=[carol_join_id],
        auth_events=sorted([power_levels, carol_join_id]),
        depth=depth + 2,
    )
    status, body = await r.remote.send([message])
    assert status == 200 and "rejected" in body["pdus"][pdu_event_id(message)]["error"], body
    assert await outcome(r, carol_join_id) is None  # dropped: not kept in any form
    assert await events.get_event(carol_join_id) is None

    # Bob sets the topic without the power to: fetched, it fails the auth
    # rules and is recorded as rejected, not kept as state.
    topic = await r.remote.build(
        r.room_id,
        BOB,
        "m.room.topic",
        {"topic": "not allowed"},
        state_key="",
        prev_events=[bob_join],
        auth_events=sorted([power_levels, bob_join]),
        depth=depth + 1,
    )
    topic_id = pdu_event_id(topic)
    r.remote.state_ids[topic_id] = await state_before(r)
    after = await r.remote.build(
        r.room_id,
        BOB,
        "m.room.message",
        {"msgtype": "m.text", "body": "after my topic"},
        prev_events=[topic_id],
        auth_events=sorted([power_levels, bob_join]),
        depth=depth + 2,
    )
    await send_ok(r, after)  # the state after an unknown prev: not learnt
    assert await outcome(r, topic_id) == "rejected"
    assert await events.get_event(topic_id) is None
    current = await events.get_current_state(r.room_id)
    assert ("m.room.topic", "") not in current


async def test_an_event_built_on_backfilled_history_takes_its_state_from_the_origin(
    room: Room,
) -> None:
    r = room
    events = r.local.homeserver.storage.events
    bob_join = await join(r, BOB)
    depth = int((await events.get_event(bob_join)).event["depth"])  # type: ignore[union-attr]
    state = await events.get_current_state(r.room_id)
    power_levels = state[("m.room.power_levels", "")].event_id
    carol_join = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.member",
        {"membership": "join"},
        state_key=CAROL,
        prev_events=[bob_join],
        depth=depth + 1,
    )
    carol_join_id = pdu_event_id(carol_join)
    # Held as backfill stores history: below every position, not current state.
    await events.persist_events(
        [
            PendingEvent(
                {**carol_join, "event_id": carol_join_id}, -1, extremity=False, updates_state=False
            )
        ]
    )
    r.remote.state_ids[carol_join_id] = await state_before(r)
    message = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.message",
        {"msgtype": "m.text", "body": "on backfilled history"},
        prev_events=[carol_join_id],
        auth_events=sorted([power_levels, carol_join_id]),
        depth=depth + 2,
    )
    message_id = await send_ok(r, message)
    assert (await events.get_event(message_id)) is not None
    paths = [target.split("?")[0] for _, target in r.remote.requests]
    assert any("/state_ids/" in p for p in paths)
    assert not any("/event/" in p for p in paths)  # all of it held already


async def test_when_get_missing_events_brings_too_little_the_rest_comes_from_state_ids(
    room: Room,
) -> None:
    r = room
    events = r.local.homeserver.storage.events
    bob_join = await join(r, BOB)
    depth = int((await events.get_event(bob_join)).event["depth"])  # type: ignore[union-attr]
    state = await events.get_current_state(r.room_id)
    power_levels = state[("m.room.power_levels", "")].event_id
    carol_join = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.member",
        {"membership": "join"},
        state_key=CAROL,
        prev_events=[bob_join],
        depth=depth + 1,
    )
    carol_join_id = pdu_event_id(carol_join)
    r.remote.state_ids[carol_join_id] = await state_before(r)
    carols = await r.remote.build(
        r.room_id,
        CAROL,
        "m.room.message",
        {"msgtype": "m.text", "body": "carol, just joined"},
        prev_events=[carol_join_id],
        auth_events=sorted([power_levels, carol_join_id]),
        depth=depth + 2,
    )
    bobs = await r.remote.build(
        r.room_id,
        BOB,
        "m.room.message",
        {"msgtype": "m.text", "body": "bob, after her"},
        prev_events=[pdu_event_id(carols)],
        auth_events=sorted([power_levels, bob_join]),
        depth=depth + 3,
    )
    # get_missing_events brings Carol's message, not her join before it.
    r.remote.missing_events = [carols]
    since = await position(r)
    await send_ok(r, bobs)
    assert await timeline_ids(r, since) == [pdu_event_id(carols), pdu_event_id(bobs)]
    # Her join, learnt with /state_ids, is current, stored below every position.
    current = await events.get_current_state(r.room_id)
    assert current[("m.room.member", CAROL)].event_id == carol_join_id
    assert current[("m.room.member", CAROL)].stream_ordering < 0
