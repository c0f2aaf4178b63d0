"""device_lists in /sync and GET /keys/changes: who hears that whose keys
changed, and whom one stopped sharing a room with."""

from __future__ import annotations

import asyncio

from tests.e2ee.helpers import Device, login, query, shared_room, sync_e2ee, upload
from tests.e2ee.test_to_device import until_waiting
from tests.matrix_client import V3, TestClient, password_auth, q


async def test_room_mates_hear_of_new_device_keys(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    carol = await client.register("carol")  # shares no room with alice
    await shared_room(client, alice, bob)
    since = {u.user_id: (await client.sync(u))["next_batch"] for u in (alice, bob, carol)}
    laptop = await login(client, alice)
    (await upload(client, laptop, device_keys=Device(laptop).device_keys())).ok()
    changed, left = sync_e2ee(await client.sync(bob, since[bob.user_id]))
    assert changed == [alice.user_id] and left == []
    changed, _ = sync_e2ee(await client.sync(alice, since[alice.user_id]))
    assert changed == [alice.user_id]  # her other devices refresh too
    changed, _ = sync_e2ee(await client.sync(carol, since[carol.user_id]))
    assert changed == []


async def test_a_waiting_sync_wakes_for_a_device_change(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await shared_room(client, alice, bob)
    since = (await client.sync(bob))["next_batch"]
    waiting = asyncio.create_task(client.sync(bob, since, timeout=10_000))
    await until_waiting(client)
    (await upload(client, alice, device_keys=Device(alice).device_keys())).ok()
    changed, _ = sync_e2ee(await asyncio.wait_for(waiting, 5))
    assert changed == [alice.user_id]


async def test_joining_and_leaving(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await shared_room(client, alice)
    since = (await client.sync(alice))["next_batch"]
    (await client.invite(alice, room_id, bob.user_id)).ok()
    bob_since = (await client.sync(bob))["next_batch"]
    (await client.join(bob, room_id)).ok()
    # Someone who now shares a room is "changed" (their keys are to be fetched).
    changed, left = sync_e2ee(await client.sync(alice, since))
    assert changed == [bob.user_id] and left == []
    changed, left = sync_e2ee(await client.sync(bob, bob_since))
    assert changed == [alice.user_id] and left == []
    since = (await client.sync(alice))["next_batch"]
    bob_since = (await client.sync(bob))["next_batch"]
    leave = await client.post(f"{V3}/rooms/{q(room_id)}/leave", json={}, token=bob.access_token)
    leave.ok()
    changed, left = sync_e2ee(await client.sync(alice, since))
    assert changed == [] and left == [bob.user_id]
    changed, left = sync_e2ee(await client.sync(bob, bob_since))
    assert left == [alice.user_id]
    # /keys/changes says the same between the same tokens.
    now = (await client.sync(alice))["next_batch"]
    changes = await client.get(
        f"{V3}/keys/changes", query={"from": since, "to": now}, token=alice.access_token
    )
    assert changes.ok() == {"changed": [], "left": [bob.user_id]}


async def test_still_sharing_another_room_is_not_left(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    first = await shared_room(client, alice, bob)
    await shared_room(client, alice, bob)
    since = (await client.sync(alice))["next_batch"]
    (await client.post(f"{V3}/rooms/{q(first)}/leave", json={}, token=bob.access_token)).ok()
    assert sync_e2ee(await client.sync(alice, since)) == ([], [])


async def test_keys_changes(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await shared_room(client, alice, bob)
    start = (await client.sync(bob))["next_batch"]
    (await upload(client, alice, device_keys=Device(alice).device_keys())).ok()
    end = (await client.sync(bob))["next_batch"]
    path = f"{V3}/keys/changes"
    result = await client.get(path, query={"from": start, "to": end}, token=bob.access_token)
    assert result.ok() == {"changed": [alice.user_id], "left": []}
    result = await client.get(path, query={"from": end, "to": end}, token=bob.access_token)
    assert result.ok() == {"changed": [], "left": []}
    (await client.get(path, query={"from": start}, token=bob.access_token)).error(
        400, "M_MISSING_PARAM"
    )
    (await client.get(path, query={"from": "x", "to": end}, token=bob.access_token)).error(
        400, "M_INVALID_PARAM"
    )


async def test_deleting_a_device_removes_its_keys_and_tells_room_mates(
    client: TestClient,
) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await shared_room(client, alice, bob)
    laptop = await login(client, alice)
    device = Device(laptop)
    (
        await upload(
            client, laptop, device_keys=device.device_keys(), one_time_keys=device.one_time_keys(3)
        )
    ).ok()
    found = await query(client, bob, {alice.user_id: []})
    assert laptop.device_id in found["device_keys"][alice.user_id]
    since = (await client.sync(bob))["next_batch"]
    path = f"{V3}/devices/{q(laptop.device_id)}"
    first = await client.delete(path, json={}, token=alice.access_token)
    assert first.status == 401
    auth = password_auth(alice, alice.password, first.body["session"])
    (await client.delete(path, json={"auth": auth}, token=alice.access_token)).ok()
    found = await query(client, bob, {alice.user_id: []})
    assert laptop.device_id not in found["device_keys"][alice.user_id]
    claimed = await client.post(
        f"{V3}/keys/claim",
        json={"one_time_keys": {alice.user_id: {laptop.device_id: "signed_curve25519"}}},
        token=bob.access_token,
    )
    assert claimed.ok()["one_time_keys"] == {}
    changed, _ = sync_e2ee(await client.sync(bob, since))
    assert changed == [alice.user_id]


async def test_signing_out_everywhere_removes_every_devices_keys(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    laptop = await login(client, alice)
    for user in (alice, laptop):
        (await upload(client, user, device_keys=Device(user).device_keys())).ok()
    (await client.post(f"{V3}/logout/all", json={}, token=laptop.access_token)).ok()
    found = await query(client, bob, {alice.user_id: []})
    assert found["device_keys"][alice.user_id] == {}
