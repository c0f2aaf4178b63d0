"""Transactions from another server, in process: accepted events reach local
clients through /sync; forged signatures, wrong hashes, events failing auth,
soft-failed events, replays, oversized PDUs and outsiders' reads are each
handled as the spec says, with nothing stored that should not be."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from federation.server_acl import server_allowed
from homeserver.config import Config
from homeserver.events import generate_signing_key
from tests.conftest import make_config
from tests.federation.remote_peer import Local, RemotePeer, local_server, pdu_event_id, q
from tests.matrix_client import V3, User

REMOTE = "remote.example.org"
BOB = f"@bob:{REMOTE}"


@dataclass
class Setup:
    local: Local
    remote: RemotePeer
    alice: User
    room_id: str


@pytest.fixture
def federation_config(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Config:
    data_dir = tmp_path_factory.mktemp("federated") / "data"
    return make_config(data_dir, database_url, enable_federation=True, server_name="localhost")


@pytest.fixture
async def setup(federation_config: Config) -> AsyncIterator[Setup]:
    async with local_server(federation_config) as local:
        remote = RemotePeer(REMOTE, local)
        await remote.publish_key()
        alice = await local.client.register("alice")
        room_id = await local.client.create_room(alice, preset="public_chat")
        yield Setup(local, remote, alice, room_id)


async def join_bob(s: Setup) -> str:
    join = await s.remote.build(
        s.room_id, BOB, "m.room.member", {"membership": "join"}, state_key=BOB
    )
    status, body = await s.remote.send([join])
    event_id = pdu_event_id(join)
    assert status == 200 and body == {"pdus": {event_id: {}}}, body
    return event_id


async def timeline_ids(s: Setup) -> list[str]:
    sync = await s.local.client.sync(s.alice)
    room = sync["rooms"]["join"][s.room_id]
    return [e["event_id"] for e in room["timeline"]["events"]]


async def outcome(s: Setup, event_id: str) -> str | None:
    found = await s.local.homeserver.storage.federation_rooms.get_outcomes([event_id])
    return found[event_id].outcome if event_id in found else None


async def test_remote_join_and_message_reach_local_sync(setup: Setup) -> None:
    join_id = await join_bob(setup)
    message = await setup.remote.build(
        setup.room_id, BOB, "m.room.message", {"msgtype": "m.text", "body": "hi from afar"}
    )
    status, body = await setup.remote.send([message])
    assert status == 200 and body == {"pdus": {pdu_event_id(message): {}}}
    ids = await timeline_ids(setup)
    assert ids[-2:] == [join_id, pdu_event_id(message)]
    members = await setup.local.client.get(
        f"{V3}/rooms/{q(setup.room_id)}/joined_members", token=setup.alice.access_token
    )
    assert BOB in members.ok()["joined"]
    # Our own users then see it in /messages too.
    page = await setup.local.client.get(
        f"{V3}/rooms/{q(setup.room_id)}/messages",
        token=setup.alice.access_token,
        query={"dir": "b", "limit": 1},
    )
    assert page.ok()["chunk"][0]["content"]["body"] == "hi from afar"


async def test_replayed_transaction_is_answered_alike_and_not_reprocessed(setup: Setup) -> None:
    join = await setup.remote.build(
        setup.room_id, BOB, "m.room.member", {"membership": "join"}, state_key=BOB
    )
    first = await setup.remote.send([join], txn_id="same")
    positions_before = setup.local.homeserver.positions.current
    again = await setup.remote.send([join], txn_id="same")
    assert first == again == (200, {"pdus": {pdu_event_id(join): {}}})
    assert setup.local.homeserver.positions.current == positions_before


async def test_forged_signature_is_refused_and_not_stored(setup: Setup) -> None:
    await join_bob(setup)
    _, other_key = generate_signing_key()
    forged = await setup.remote.build(
        setup.room_id, BOB, "m.room.message", {"msgtype": "m.text", "body": "x"}, key=other_key
    )
    status, body = await setup.remote.send([forged])
    event_id = pdu_event_id(forged)
    assert status == 200 and "signature" in body["pdus"][event_id]["error"]
    assert await setup.local.homeserver.storage.events.get_event(event_id) is None
    assert await outcome(setup, event_id) is None


async def test_wrong_content_hash_stores_the_redacted_event(setup: Setup) -> None:
    await join_bob(setup)
    message = await setup.remote.build(
        setup.room_id, BOB, "m.room.message", {"msgtype": "m.text", "body": "original"}
    )
    tampered = copy.deepcopy(message)
    tampered["content"]["body"] = "tampered"
    status, body = await setup.remote.send([tampered])
    event_id = pdu_event_id(tampered)
    assert event_id == pdu_event_id(message)  # the id covers the redacted form only
    assert status == 200 and body["pdus"][event_id] == {}
    stored = await setup.local.homeserver.storage.events.get_event(event_id)
    assert stored is not None and stored.event["content"] == {}


async def test_event_failing_auth_is_rejected_and_recorded(setup: Setup) -> None:
    # Bob never joined: his message fails the auth rules.
    message = await setup.remote.build(
        setup.room_id, BOB, "m.room.message", {"msgtype": "m.text", "body": "let me in"}
    )
    status, body = await setup.remote.send([message])
    event_id = pdu_event_id(message)
    assert status == 200 and "rejected" in body["pdus"][event_id]["error"]
    assert await setup.local.homeserver.storage.events.get_event(event_id) is None
    assert await outcome(setup, event_id) == "rejected"
    assert event_id not in await timeline_ids(setup)


async def test_banned_users_message_built_before_the_ban_is_soft_failed(setup: Setup) -> None:
    join_id = await join_bob(setup)
    state = await setup.local.homeserver.storage.events.get_current_state(setup.room_id)
    # Room version 12 (the default): the create event is implied, not listed.
    auth = [state[("m.room.power_levels", "")].event_id]
    ban = await setup.local.client.post(
        f"{V3}/rooms/{q(setup.room_id)}/ban",
        json={"user_id": BOB},
        token=setup.alice.access_token,
    )
    ban.ok()
    # Built on his join, before the ban: allowed by the state before it, not by
    # the room's current state.
    message = await setup.remote.build(
        setup.room_id,
        BOB,
        "m.room.message",
        {"msgtype": "m.text", "body": "sneaky"},
        prev_events=[join_id],
        auth_events=sorted([*auth, join_id]),
    )
    status, body = await setup.remote.send([message])
    event_id = pdu_event_id(message)
    assert status == 200 and body["pdus"][event_id] == {}
    assert await outcome(setup, event_id) == "soft_failed"
    assert await setup.local.homeserver.storage.events.get_event(event_id) is None
    extremities = await setup.local.homeserver.storage.events.get_forward_extremities(setup.room_id)
    assert event_id not in [e for e, _ in extremities]
    assert event_id not in await timeline_ids(setup)


async def test_oversized_pdu_is_refused(setup: Setup) -> None:
    await join_bob(setup)
    big = await setup.remote.build(
        setup.room_id, BOB, "m.room.message", {"msgtype": "m.text", "body": "x" * 70_000}
    )
    status, body = await setup.remote.send([big])
    event_id = pdu_event_id(big)
    assert status == 200 and "bytes" in body["pdus"][event_id]["error"]
    assert await setup.local.homeserver.storage.events.get_event(event_id) is None


async def test_transaction_limits_and_bad_bodies(setup: Setup) -> None:
    status, body = await setup.remote.send([{}] * 51)
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    status, body = await setup.remote.request(
        "PUT", "/_matrix/federation/v1/send/t1", {"pdus": "nope"}
    )
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    status, body = await setup.remote.send([{"room_id": "!unknown:elsewhere", "type": 1}])
    assert status == 200 and all("error" in r for r in body["pdus"].values())
    # Unsigned: 401.
    response = await setup.local.federation.put(
        "/_matrix/federation/v1/send/t2", json={"pdus": [], "edus": []}
    )
    assert response.status_code == 401


async def test_outsiders_may_not_read_the_room(setup: Setup) -> None:
    state = await setup.local.homeserver.storage.events.get_current_state(setup.room_id)
    create_id = state[("m.room.create", "")].event_id
    event_path = f"/_matrix/federation/v1/event/{q(create_id)}"
    state_path = f"/_matrix/federation/v1/state_ids/{q(setup.room_id)}?event_id={q(create_id)}"
    # /event answers an outsider as if the event did not exist; /state_ids refuses.
    for path, refusal in ((event_path, (404, "M_NOT_FOUND")), (state_path, (403, "M_FORBIDDEN"))):
        status, body = await setup.remote.request("GET", path)
        assert (status, body["errcode"]) == refusal, (path, body)
    await join_bob(setup)
    status, body = await setup.remote.request("GET", event_path)
    assert status == 200 and pdu_event_id(body["pdus"][0]) == create_id
    last = next(
        e
        for e, _ in await setup.local.homeserver.storage.events.get_forward_extremities(
            setup.room_id
        )
    )
    status, body = await setup.remote.request(
        "GET", f"/_matrix/federation/v1/state_ids/{q(setup.room_id)}?event_id={q(last)}"
    )
    assert status == 200 and create_id in body["pdu_ids"]
    status, body = await setup.remote.request(
        "POST",
        f"/_matrix/federation/v1/get_missing_events/{q(setup.room_id)}",
        {"earliest_events": [create_id], "latest_events": [last], "limit": 3},
    )
    assert status == 200 and len(body["events"]) == 3


async def test_typing_and_receipts_from_the_remote_server(setup: Setup) -> None:
    await join_bob(setup)
    message_id = await setup.local.client.send_text(setup.alice, setup.room_id, "hello")
    edus: list[dict[str, Any]] = [
        {
            "edu_type": "m.typing",
            "content": {"room_id": setup.room_id, "user_id": BOB, "typing": True},
        },
        {
            "edu_type": "m.receipt",
            "content": {
                setup.room_id: {"m.read": {BOB: {"event_ids": [message_id], "data": {"ts": 1}}}}
            },
        },
        # Another server's user: ignored.
        {
            "edu_type": "m.typing",
            "content": {"room_id": setup.room_id, "user_id": "@eve:other.org", "typing": True},
        },
    ]
    status, _ = await setup.remote.send([], edus)
    assert status == 200
    sync = await setup.local.client.sync(setup.alice)
    ephemeral = sync["rooms"]["join"][setup.room_id]["ephemeral"]["events"]
    typing = [e for e in ephemeral if e["type"] == "m.typing"]
    receipts = [e for e in ephemeral if e["type"] == "m.receipt"]
    assert typing[0]["content"]["user_ids"] == [BOB]
    assert BOB in receipts[0]["content"][message_id]["m.read"]


async def test_presence_edus_for_the_origins_users_only(setup: Setup) -> None:
    await join_bob(setup)
    edus: list[dict[str, Any]] = [
        {
            "edu_type": "m.presence",
            "content": {
                "push": [
                    {"user_id": BOB, "presence": "unavailable", "status_msg": "away",
                     "last_active_ago": 5000, "currently_active": False},
                    # Another server's user, and a state that does not exist: ignored.
                    {"user_id": "@eve:other.org", "presence": "online"},
                    {"user_id": BOB, "presence": "asleep"},
                ]
            },
        },
        {"edu_type": "m.presence", "content": {"push": "not a list"}},
    ]  # fmt: skip
    status, _ = await setup.remote.send([], edus)
    assert status == 200
    sync = await setup.local.client.sync(setup.alice)
    presence = {e["sender"]: e["content"] for e in sync["presence"]["events"]}
    assert presence[BOB]["presence"] == "unavailable"
    assert presence[BOB]["status_msg"] == "away"
    assert presence[BOB]["last_active_ago"] >= 5000
    assert "@eve:other.org" not in presence


@pytest.mark.parametrize(("remote_ts", "winner"), [(1_000, "local"), (2**50, "remote")])
async def test_concurrent_state_changes_resolve(
    federation_config: Config, remote_ts: int, winner: str
) -> None:
    """A topic change built beside ours (a fork) becomes current only if state
    resolution picks it (here: the later timestamp wins, same power)."""
    async with local_server(federation_config) as local:
        remote = RemotePeer(REMOTE, local)
        await remote.publish_key()
        alice = await local.client.register("alice")
        # Version 11: as a version-12 creator Alice would outrank Bob whatever the time.
        room_id = await local.client.create_room(
            alice,
            room_version="11",
            preset="public_chat",
            power_level_content_override={"users": {alice.user_id: 100, BOB: 100}},
        )
        s = Setup(local, remote, alice, room_id)
        join_id = await join_bob(s)
        events = local.homeserver.storage.events
        state = await events.get_current_state(room_id)
        auth = [state[k].event_id for k in (("m.room.create", ""), ("m.room.power_levels", ""))]
        topic_path = f"{V3}/rooms/{q(room_id)}/state/m.room.topic"
        (await local.client.put(topic_path, json={"topic": "local"}, token=alice.access_token)).ok()
        theirs = await remote.build(
            room_id,
            BOB,
            "m.room.topic",
            {"topic": "remote"},
            state_key="",
            prev_events=[join_id],
            auth_events=sorted([*auth, join_id]),
            origin_server_ts=remote_ts,
        )
        status, body = await remote.send([theirs])
        assert status == 200 and body["pdus"][pdu_event_id(theirs)] == {}
        current = await local.client.get(topic_path, token=alice.access_token)
        assert current.ok() == {"topic": winner}
        # Either way the event is in the room's DAG: both branches are extremities.
        extremities = {e for e, _ in await events.get_forward_extremities(room_id)}
        assert pdu_event_id(theirs) in extremities and len(extremities) == 2


async def test_a_server_acl_shuts_the_server_out(setup: Setup) -> None:
    await join_bob(setup)
    acl = {"allow": ["*"], "deny": ["*.example.org"], "allow_ip_literals": True}
    (
        await setup.local.client.put(
            f"{V3}/rooms/{q(setup.room_id)}/state/m.room.server_acl",
            json=acl,
            token=setup.alice.access_token,
        )
    ).ok()
    message = await setup.remote.build(
        setup.room_id, BOB, "m.room.message", {"msgtype": "m.text", "body": "still here?"}
    )
    status, body = await setup.remote.send([message])
    event_id = pdu_event_id(message)
    assert status == 200 and "ACL" in body["pdus"][event_id]["error"]
    assert await setup.local.homeserver.storage.events.get_event(event_id) is None
    state = await setup.local.homeserver.storage.events.get_current_state(setup.room_id)
    create_id = state[("m.room.create", "")].event_id
    status, body = await setup.remote.request("GET", f"/_matrix/federation/v1/event/{q(create_id)}")
    assert status in (403, 404) and body["errcode"] in ("M_FORBIDDEN", "M_NOT_FOUND")
    make_join = f"/_matrix/federation/v1/make_join/{q(setup.room_id)}/{q(BOB)}?ver=12&ver=11"
    status, body = await setup.remote.request("GET", make_join)
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


@pytest.mark.parametrize(
    ("acl", "server", "allowed"),
    [
        (None, "a.org", True),
        ({"allow": ["*"]}, "a.org:8448", True),
        ({"allow": ["*"], "deny": ["a.org"]}, "a.org:8448", False),
        ({"allow": ["*.a.org"]}, "x.a.org", True),
        ({"allow": ["*.a.org"]}, "a.org", False),
        ({"allow": ["?.org"]}, "b.org", True),
        ({}, "a.org", False),
        ({"allow": ["*"], "allow_ip_literals": False}, "127.0.0.1:8448", False),
        ({"allow": ["*"], "allow_ip_literals": False}, "[::1]:8448", False),
        ({"allow": ["*"]}, "127.0.0.1:8448", True),
    ],
)
def test_server_acl_matching(acl: dict[str, Any] | None, server: str, allowed: bool) -> None:
    assert server_allowed(acl, server) is allowed
