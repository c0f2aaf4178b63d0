"""E2EE between our server and Synapse (loopback, TLS with a throwaway CA):
keys queried and claimed both ways (each through the other's
`/user/keys/query` and `/user/keys/claim`) and to-device messages both ways
(`m.direct_to_device`)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.e2e.helpers import V3, User, login, ok, q, register
from tests.e2ee.helpers import Device
from tests.federation.servers import FederatingServer
from tests.federation.test_synapse import Synapse, ours_and_synapse  # noqa: F401
from tests.federation.tls import TestCA
from tests.matrix_client import User as KeyUser


async def upload_keys(http: httpx.AsyncClient, user: User) -> Device:
    device = Device(KeyUser(user.user_id, user.access_token, user.device_id, ""))
    body = {"device_keys": device.device_keys(), "one_time_keys": device.one_time_keys(1)}
    ok(await http.post(f"{V3}/keys/upload", json=body, headers=user.headers))
    return device


async def to_device_events(
    http: httpx.AsyncClient, user: User, deadline: float = 30
) -> list[dict[str, Any]]:
    end = time.monotonic() + deadline
    since: str | None = None
    while time.monotonic() < end:
        params = {"timeout": "3000", **({"since": since} if since else {})}
        body = ok(await http.get(f"{V3}/sync", params=params, headers=user.headers))
        since = body["next_batch"]
        events = body.get("to_device", {}).get("events", [])
        if events:
            return list(events)
    raise AssertionError("no to-device message arrived")


async def test_keys_and_to_device_with_synapse(
    ours_and_synapse: tuple[FederatingServer, Synapse, TestCA],  # noqa: F811
) -> None:
    ours, synapse, _ = ours_and_synapse
    async with (
        httpx.AsyncClient(base_url=ours.base_url, timeout=60) as http_ours,
        httpx.AsyncClient(base_url=synapse.client_url, timeout=60) as http_synapse,
    ):
        alice = await register(http_ours, "alice")
        bob = await register(http_synapse, "bob")
        alice_device = await upload_keys(http_ours, alice)
        bob_device = await upload_keys(http_synapse, bob)

        for http, me, them, their_device in (
            (http_ours, alice, bob, bob_device),
            (http_synapse, bob, alice, alice_device),
        ):
            body = {"device_keys": {them.user_id: []}}
            queried = ok(await http.post(f"{V3}/keys/query", json=body, headers=me.headers))
            assert queried["failures"] == {}, queried
            keys = queried["device_keys"][them.user_id][them.device_id]
            assert keys["keys"] == their_device.device_keys()["keys"]
            body = {"one_time_keys": {them.user_id: {them.device_id: "signed_curve25519"}}}
            claimed = ok(await http.post(f"{V3}/keys/claim", json=body, headers=me.headers))
            assert claimed["failures"] == {}, claimed
            (key_id,) = claimed["one_time_keys"][them.user_id][them.device_id]
            assert key_id.startswith("signed_curve25519:")

        for http, me, them, txn in (
            (http_ours, alice, bob, "a1"),
            (http_synapse, bob, alice, "b1"),
        ):
            body = {"messages": {them.user_id: {them.device_id: {"from": me.user_id}}}}
            path = f"{V3}/sendToDevice/m.test.hello/{txn}"
            ok(await http.put(path, json=body, headers=me.headers))
        received_by_bob = await to_device_events(http_synapse, bob)
        received_by_alice = await to_device_events(http_ours, alice)
        assert [(e["type"], e["sender"], e["content"]) for e in received_by_bob] == [
            ("m.test.hello", alice.user_id, {"from": alice.user_id})
        ]
        assert [(e["type"], e["sender"], e["content"]) for e in received_by_alice] == [
            ("m.test.hello", bob.user_id, {"from": bob.user_id})
        ]


async def test_synapse_device_change_reaches_our_sync(
    ours_and_synapse: tuple[FederatingServer, Synapse, TestCA],  # noqa: F811
) -> None:
    ours, synapse, _ = ours_and_synapse
    async with (
        httpx.AsyncClient(base_url=ours.base_url, timeout=60) as http_ours,
        httpx.AsyncClient(base_url=synapse.client_url, timeout=60) as http_synapse,
    ):
        alice = await register(http_ours, "alice")
        bob = await register(http_synapse, "bob")
        await upload_keys(http_synapse, bob)
        body = {"preset": "public_chat", "room_alias_name": "e2ee"}
        room_id = ok(await http_ours.post(f"{V3}/createRoom", json=body, headers=alice.headers))[
            "room_id"
        ]
        alias = f"#e2ee:{ours.server_name}"
        ok(await http_synapse.post(f"{V3}/join/{q(alias)}", json={}, headers=bob.headers))
        since = None
        end = time.monotonic() + 30
        while time.monotonic() < end:
            params = {"timeout": "3000", **({"since": since} if since else {})}
            got = ok(await http_ours.get(f"{V3}/sync", params=params, headers=alice.headers))
            since = got["next_batch"]
            members = ok(
                await http_ours.get(
                    f"{V3}/rooms/{q(room_id)}/joined_members", headers=alice.headers
                )
            )
            if bob.user_id in members["joined"]:
                break
        assert bob.user_id in members["joined"]
        body = {"device_keys": {bob.user_id: []}}
        queried = ok(await http_ours.post(f"{V3}/keys/query", json=body, headers=alice.headers))
        assert list(queried["device_keys"][bob.user_id]) == [bob.device_id]

        tablet = await login(http_synapse, "bob")
        await upload_keys(http_synapse, tablet)
        # Synapse announces the new device twice: once created (no keys yet,
        # so /keys/query does not list it), once with its keys. Each wakes
        # Alice's sync with Bob in device_lists.changed.
        end = time.monotonic() + 30
        while True:
            params = {"timeout": "3000", "since": since}
            got = ok(await http_ours.get(f"{V3}/sync", params=params, headers=alice.headers))
            since = got["next_batch"]
            if bob.user_id in got.get("device_lists", {}).get("changed", []):
                queried = ok(
                    await http_ours.post(f"{V3}/keys/query", json=body, headers=alice.headers)
                )
                if set(queried["device_keys"][bob.user_id]) == {bob.device_id, tablet.device_id}:
                    break
            assert time.monotonic() < end, "Synapse's device list update did not arrive"

        # And the other way: Alice's new device reaches Bob's sync on Synapse.
        body = {"device_keys": {alice.user_id: []}}
        queried = ok(await http_synapse.post(f"{V3}/keys/query", json=body, headers=bob.headers))
        assert list(queried["device_keys"][alice.user_id]) == []  # no keys uploaded yet
        bob_since = ok(
            await http_synapse.get(f"{V3}/sync", params={"timeout": "0"}, headers=bob.headers)
        )["next_batch"]
        alice_device = await upload_keys(http_ours, alice)
        end = time.monotonic() + 30
        while True:
            params = {"timeout": "3000", "since": bob_since}
            got = ok(await http_synapse.get(f"{V3}/sync", params=params, headers=bob.headers))
            bob_since = got["next_batch"]
            if alice.user_id in got.get("device_lists", {}).get("changed", []):
                break
            assert time.monotonic() < end, "our device list update did not reach Synapse"
        queried = ok(await http_synapse.post(f"{V3}/keys/query", json=body, headers=bob.headers))
        assert list(queried["device_keys"][alice.user_id]) == [alice_device.device_id]
