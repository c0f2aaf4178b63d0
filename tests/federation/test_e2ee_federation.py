"""E2EE over federation, in process, against a remote server that is a key
pair: the `/user/keys/*` and `/user/devices` answers for our users, the E2EE
EDUs we receive (device list updates in our users' sync, to-device messages
delivered once) and those we queue for the remote server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from federation.e2ee_remote import CachedDevices
from homeserver.config import Config
from tests.conftest import make_config
from tests.e2ee.helpers import (
    CrossSigningKeys,
    Device,
    SigningKey,
    query,
    upload,
    upload_cross_signing,
)
from tests.federation.remote_peer import Local, RemotePeer, local_server, pdu_event_id, q
from tests.matrix_client import V3, User

REMOTE = "remote.example.org"
BOB = f"@bob:{REMOTE}"
V1 = "/_matrix/federation/v1"


@dataclass
class Setup:
    local: Local
    remote: RemotePeer
    alice: User
    device: Device
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
        device = Device(alice)
        response = await upload(
            local.client,
            alice,
            device_keys=device.device_keys(),
            one_time_keys=device.one_time_keys(1),
        )
        response.ok()
        room_id = await local.client.create_room(alice, preset="public_chat")
        yield Setup(local, remote, alice, device, room_id)


async def join_bob(s: Setup) -> None:
    join = await s.remote.build(
        s.room_id, BOB, "m.room.member", {"membership": "join"}, state_key=BOB
    )
    status, body = await s.remote.send([join])
    assert status == 200 and body == {"pdus": {pdu_event_id(join): {}}}, body


async def queued_edus(s: Setup, edu_type: str) -> list[dict[str, Any]]:
    store = s.local.homeserver.storage.federation_rooms
    items = await store.peek_queue(REMOTE, "edu", 100)
    return [i.item["content"] for i in items if i.item["edu_type"] == edu_type]


async def test_user_keys_query_answers_for_our_users_only(setup: Setup) -> None:
    alice, device = setup.alice, setup.device
    cross = CrossSigningKeys(alice)
    body = {f"{k}_key": cross.key(k) for k in ("master", "self_signing", "user_signing")}
    await setup.local.client.post(
        f"{V3}/keys/device_signing/upload", json=body, token=alice.access_token
    )
    status, answer = await setup.remote.request(
        "POST", f"{V1}/user/keys/query", {"device_keys": {alice.user_id: []}}
    )
    assert status == 200, answer
    keys = answer["device_keys"][alice.user_id][alice.device_id]
    assert keys["keys"] == device.device_keys()["keys"]
    assert "unsigned" not in keys  # no device names over federation
    assert answer["master_keys"][alice.user_id]["usage"] == ["master"]
    assert answer["self_signing_keys"][alice.user_id]["usage"] == ["self_signing"]
    assert "user_signing_keys" not in answer

    status, answer = await setup.remote.request(
        "POST", f"{V1}/user/keys/query", {"device_keys": {BOB: []}}
    )
    assert (status, answer["errcode"]) == (400, "M_INVALID_PARAM")
    status, answer = await setup.remote.request(
        "POST", f"{V1}/user/keys/query", {"device_keys": {alice.user_id: "all"}}
    )
    assert (status, answer["errcode"]) == (400, "M_BAD_JSON")
    unsigned = await setup.local.federation.post(
        f"{V1}/user/keys/query", json={"device_keys": {alice.user_id: []}}
    )
    assert unsigned.status_code == 401
    assert (await unsigned.get_json())["errcode"] == "M_UNAUTHORIZED"


async def test_user_keys_claim_takes_each_one_time_key_once(setup: Setup) -> None:
    alice = setup.alice
    wanted = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
    status, first = await setup.remote.request("POST", f"{V1}/user/keys/claim", wanted)
    assert status == 200, first
    claimed = first["one_time_keys"][alice.user_id][alice.device_id]
    assert len(claimed) == 1 and next(iter(claimed)).startswith("signed_curve25519:")
    status, second = await setup.remote.request("POST", f"{V1}/user/keys/claim", wanted)
    assert status == 200 and second["one_time_keys"] == {}
    status, refused = await setup.remote.request(
        "POST", f"{V1}/user/keys/claim", {"one_time_keys": {BOB: {"D": "signed_curve25519"}}}
    )
    assert (status, refused["errcode"]) == (400, "M_INVALID_PARAM")


async def test_user_devices_lists_devices_with_keys_and_a_stream_id(setup: Setup) -> None:
    alice = setup.alice
    status, answer = await setup.remote.request("GET", f"{V1}/user/devices/{q(alice.user_id)}")
    assert status == 200, answer
    assert answer["user_id"] == alice.user_id
    assert answer["stream_id"] > 0
    assert [d["device_id"] for d in answer["devices"]] == [alice.device_id]
    assert answer["devices"][0]["keys"]["device_id"] == alice.device_id
    status, answer = await setup.remote.request("GET", f"{V1}/user/devices/{q(BOB)}")
    assert (status, answer["errcode"]) == (400, "M_INVALID_PARAM")


async def test_received_device_list_update_reaches_our_users_sync(setup: Setup) -> None:
    await join_bob(setup)
    client, alice = setup.local.client, setup.alice
    since = (await client.sync(alice))["next_batch"]
    update = {
        "edu_type": "m.device_list_update",
        "content": {
            "user_id": BOB,
            "device_id": "BOBPHONE",
            "stream_id": 7,
            "prev_id": [6],
            "keys": {"user_id": BOB, "device_id": "BOBPHONE", "keys": {}, "algorithms": []},
        },
    }
    status, _ = await setup.remote.send([], [update])
    assert status == 200
    synced = await client.sync(alice, since)
    assert BOB in synced["device_lists"]["changed"]

    # An update about someone else's user, or a user sharing no room with us,
    # is ignored.
    since = synced["next_batch"]
    forged = {
        "edu_type": "m.device_list_update",
        "content": {**update["content"], "user_id": "@carol:localhost", "stream_id": 8},
    }
    stranger = {
        "edu_type": "m.device_list_update",
        "content": {**update["content"], "user_id": f"@dave:{REMOTE}", "stream_id": 9},
    }
    await setup.remote.send([], [forged, stranger])
    synced = await client.sync(alice, since, timeout="0")
    assert not synced.get("device_lists", {}).get("changed")


async def test_received_to_device_message_is_delivered_once(setup: Setup) -> None:
    client, alice = setup.local.client, setup.alice
    since = (await client.sync(alice))["next_batch"]
    edu = {
        "edu_type": "m.direct_to_device",
        "content": {
            "sender": BOB,
            "type": "m.room_key_request",
            "message_id": "hiezohf6Hoo7kaev",
            "messages": {alice.user_id: {"*": {"action": "request", "n": 1}}},
        },
    }
    # The same message in two transactions (a retry after a lost answer).
    await setup.remote.send([], [edu])
    await setup.remote.send([], [edu])
    first = await client.sync(alice, since)
    events = first["to_device"]["events"]
    assert events == [
        {"type": "m.room_key_request", "sender": BOB, "content": {"action": "request", "n": 1}}
    ]
    later = await client.sync(alice, first["next_batch"], timeout="0")
    assert not later.get("to_device", {}).get("events")
    # A message claiming a sender of another server is dropped.
    forged = {"edu_type": "m.direct_to_device", "content": {**edu["content"]}}
    forged["content"]["sender"] = "@mallory:evil.example"
    forged["content"]["message_id"] = "other"
    await setup.remote.send([], [forged])
    again = await client.sync(alice, later["next_batch"], timeout="0")
    assert not again.get("to_device", {}).get("events")


async def test_our_key_changes_and_to_device_messages_are_queued_for_the_room_servers(
    setup: Setup,
) -> None:
    await join_bob(setup)
    client = setup.local.client
    new_keys = Device(setup.alice)
    (await upload(client, setup.alice, device_keys=new_keys.device_keys())).ok()
    updates = await queued_edus(setup, "m.device_list_update")
    assert len(updates) == 1
    update = updates[0]
    assert update["user_id"] == setup.alice.user_id
    assert update["device_id"] == setup.alice.device_id
    assert update["keys"]["keys"] == new_keys.device_keys()["keys"]
    assert isinstance(update["stream_id"], int) and len(update["prev_id"]) == 1

    body = {"messages": {BOB: {"BOBPHONE": {"hello": "bob"}}}}
    path = f"{V3}/sendToDevice/m.test/txn1"
    for _ in range(2):  # a retried request with the same transaction id
        (await client.put(path, json=body, token=setup.alice.access_token)).ok()
    messages = await queued_edus(setup, "m.direct_to_device")
    assert len(messages) == 1
    assert messages[0]["sender"] == setup.alice.user_id
    assert messages[0]["type"] == "m.test"
    assert messages[0]["messages"] == {BOB: {"BOBPHONE": {"hello": "bob"}}}
    assert 0 < len(messages[0]["message_id"]) <= 32


async def test_cross_signing_updates_both_ways(setup: Setup) -> None:
    await join_bob(setup)
    client, alice = setup.local.client, setup.alice
    (await upload_cross_signing(client, alice, CrossSigningKeys(alice).upload_body())).ok()
    (update,) = await queued_edus(setup, "m.signing_key_update")
    assert update["user_id"] == alice.user_id
    assert update["master_key"]["usage"] == ["master"]
    assert update["self_signing_key"]["usage"] == ["self_signing"]
    assert "user_signing_key" not in update

    since = (await client.sync(alice))["next_batch"]
    master = {"user_id": BOB, "usage": ["master"], "keys": {"ed25519:bobkey": "bobkey"}}
    edu = {"edu_type": "m.signing_key_update", "content": {"user_id": BOB, "master_key": master}}
    status, _ = await setup.remote.send([], [edu])
    assert status == 200
    synced = await client.sync(alice, since)
    assert BOB in synced["device_lists"]["changed"]


def bob_device(device_id: str) -> dict[str, Any]:
    return {"user_id": BOB, "device_id": device_id, "algorithms": [], "keys": {}}


def device_update(device_id: str, stream_id: int, prev_id: list[int]) -> dict[str, Any]:
    return {
        "edu_type": "m.device_list_update",
        "content": {
            "user_id": BOB,
            "device_id": device_id,
            "stream_id": stream_id,
            "prev_id": prev_id,
            "keys": bob_device(device_id),
        },
    }


async def test_cached_remote_list_follows_updates_and_is_dropped_at_a_gap(setup: Setup) -> None:
    await join_bob(setup)
    services = setup.local.federation.app.extensions["federation"]  # type: ignore[attr-defined]
    remote_keys = services.remote_keys
    # As fetched from /user/devices at stream id 5.
    entry = CachedDevices({"PHONE": bob_device("PHONE")}, None, None)
    entry.saw(5)
    remote_keys._store(BOB, entry)

    # An update following on from 5 is applied: the answer comes from the
    # cache (the remote server cannot be reached, so nothing else could answer).
    await setup.remote.send([], [device_update("TABLET", 6, [5])])
    answer = await remote_keys.query({BOB: []}, 1.0)
    assert answer["failures"] == {}
    assert set(answer["device_keys"][BOB]) == {"PHONE", "TABLET"}
    answer = await remote_keys.query({BOB: ["TABLET"]}, 1.0)
    assert set(answer["device_keys"][BOB]) == {"TABLET"}

    # One after an update we never saw drops the list: the server is asked again.
    await setup.remote.send([], [device_update("LAPTOP", 9, [8])])
    answer = await remote_keys.query({BOB: []}, 1.0)
    assert REMOTE in answer["failures"]
    assert answer["device_keys"] == {}


async def test_signing_a_remote_users_master_key(setup: Setup) -> None:
    await join_bob(setup)
    client, alice = setup.local.client, setup.alice
    services = setup.local.federation.app.extensions["federation"]  # type: ignore[attr-defined]
    bob_master = SigningKey()
    master = {
        "user_id": BOB,
        "usage": ["master"],
        "keys": {f"ed25519:{bob_master.public}": bob_master.public},
    }
    master = bob_master.sign(master, BOB)
    entry = CachedDevices({}, master, None)
    entry.saw(1)
    services.remote_keys._store(BOB, entry)  # as fetched from Bob's server

    alice_keys = CrossSigningKeys(alice)
    (await upload_cross_signing(client, alice, alice_keys.upload_body())).ok()
    signed = alice_keys.user_signing.sign(
        master, alice.user_id, f"ed25519:{alice_keys.user_signing.public}"
    )
    uploaded = await client.post(
        f"{V3}/keys/signatures/upload",
        json={BOB: {bob_master.public: signed}},
        token=alice.access_token,
    )
    assert uploaded.ok() == {"failures": {}}

    seen = await query(client, alice, {BOB: []})
    assert (
        seen["master_keys"][BOB]["signatures"][alice.user_id]
        == (signed["signatures"][alice.user_id])
    )
    # Only Alice sees her signature (the cached key itself is unchanged).
    assert alice.user_id not in master["signatures"]
    carol = await client.register("carol")
    seen = await query(client, carol, {BOB: []})
    assert alice.user_id not in seen["master_keys"][BOB]["signatures"]
