"""E2EE between two real servers (127.0.0.1 and 127.0.0.2 over TLS), driven
through their client APIs: a user on A queries and claims the keys of a user
on B, sees B's device changes in /sync `device_lists.changed`, and sends a
to-device message that reaches B's device exactly once; a server that cannot
be reached is named in `failures`."""

from __future__ import annotations

import asyncio
import shutil
import socket
from typing import Any

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.e2ee.helpers import CrossSigningKeys, Device
from tests.federation.two_servers import (
    Account,
    Client,
    Pair,
    q,
    timeline,
)
from tests.matrix_client import User

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
    pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="runs in the SQLite pass"),
]


async def device_of(client: Client, account: Account) -> Device:
    whoami = await client.ok("GET", "/account/whoami", account)
    return Device(User(account.user_id, account.token, whoami["device_id"], ""))


async def upload_keys(client: Client, account: Account, device: Device, otks: int) -> None:
    body = {"device_keys": device.device_keys(), "one_time_keys": device.one_time_keys(otks)}
    await client.ok("POST", "/keys/upload", account, json=body)


async def login(client: Client, account: Account) -> Account:
    localpart = account.user_id[1:].split(":", 1)[0]
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": localpart},
        "password": "correct horse battery",
    }
    done = await client.ok("POST", "/login", json=body)
    return Account(done["user_id"], done["access_token"])


async def test_keys_device_lists_and_to_device_across_servers(
    pair: Pair,
) -> None:
    a, b = pair
    alice = await a.register("alice")
    bob = await b.register("bob")
    bob_device = await device_of(b, bob)
    await upload_keys(b, bob, bob_device, 2)

    created = await a.ok(
        "POST", "/createRoom", alice, json={"preset": "public_chat", "room_alias_name": "e2ee"}
    )
    room_id = created["room_id"]
    await b.ok("POST", f"/join/{q(f'#e2ee:{a.server.server_name}')}", bob, json={})

    def bob_joined(body: dict[str, Any]) -> bool:
        return any(
            e["type"] == "m.room.member" and e["state_key"] == bob.user_id
            for e in timeline(body, room_id)
        )

    _, alice_since = await a.sync_until(alice, bob_joined)

    # Keys query and claim of Bob (on B) by Alice (on A).
    queried = await a.ok("POST", "/keys/query", alice, json={"device_keys": {bob.user_id: []}})
    assert queried["failures"] == {}
    bob_keys = queried["device_keys"][bob.user_id][bob_device.device_id]
    assert bob_keys["keys"] == bob_device.device_keys()["keys"]
    assert bob_keys["signatures"] == bob_device.device_keys()["signatures"]

    wanted = {"one_time_keys": {bob.user_id: {bob_device.device_id: "signed_curve25519"}}}
    claimed_keys: set[str] = set()
    for _ in range(2):
        claimed = await a.ok("POST", "/keys/claim", alice, json=wanted)
        assert claimed["failures"] == {}
        claimed_keys.update(claimed["one_time_keys"][bob.user_id][bob_device.device_id])
    assert len(claimed_keys) == 2  # two different one-time keys
    third = await a.ok("POST", "/keys/claim", alice, json=wanted)
    assert third["one_time_keys"].get(bob.user_id, {}).get(bob_device.device_id) in (None, {})

    # A server that refuses connections, and one that accepts them but never
    # answers (held to the client's `timeout`), are named in failures; the
    # servers that answer still do.
    with socket.socket() as silent:
        silent.bind(("127.0.0.3", 0))
        silent.listen()
        hanging = f"127.0.0.3:{silent.getsockname()[1]}"
        refusing = "127.0.0.3:1"
        wanted_keys = {f"@nobody:{hanging}": [], f"@nobody:{refusing}": [], bob.user_id: []}
        partial = await a.ok(
            "POST", "/keys/query", alice, json={"device_keys": wanted_keys, "timeout": 2000}
        )
    assert set(partial["failures"]) == {hanging, refusing}
    assert bob_device.device_id in partial["device_keys"][bob.user_id]

    # Bob signs in on a second device with keys: Alice's sync says Bob changed,
    # and her next query (the cached list brought up to date) has both devices.
    bob_tablet = await login(b, bob)
    tablet_device = await device_of(b, bob_tablet)
    await upload_keys(b, bob_tablet, tablet_device, 1)

    def bob_changed(body: dict[str, Any]) -> bool:
        return bob.user_id in body.get("device_lists", {}).get("changed", [])

    _, alice_since = await a.sync_until(alice, bob_changed, alice_since)
    queried = await a.ok("POST", "/keys/query", alice, json={"device_keys": {bob.user_id: []}})
    assert set(queried["device_keys"][bob.user_id]) == {
        bob_device.device_id,
        tablet_device.device_id,
    }

    # The tablet signs out: Alice hears of it again, and the list (kept up
    # to date from the update) has the first device only.
    await b.ok("POST", "/logout", bob_tablet, json={})
    _, alice_since = await a.sync_until(alice, bob_changed, alice_since)
    queried = await a.ok("POST", "/keys/query", alice, json={"device_keys": {bob.user_id: []}})
    assert set(queried["device_keys"][bob.user_id]) == {bob_device.device_id}

    # Bob sets up cross-signing: Alice hears of it and sees his master and
    # self-signing keys (not his user-signing key).
    cross = CrossSigningKeys(bob_device.user)
    await b.ok("POST", "/keys/device_signing/upload", bob, json=cross.upload_body())
    _, alice_since = await a.sync_until(alice, bob_changed, alice_since)
    queried = await a.ok("POST", "/keys/query", alice, json={"device_keys": {bob.user_id: []}})
    assert queried["master_keys"][bob.user_id] == cross.key("master")
    assert queried["self_signing_keys"][bob.user_id] == cross.key("self_signing")
    assert bob.user_id not in queried.get("user_signing_keys", {})

    # Alice verifies Bob: her user-signing key signs his master key (fetched
    # from B); her next query shows her signature on it.
    alice_cross = CrossSigningKeys((await device_of(a, alice)).user)
    await a.ok("POST", "/keys/device_signing/upload", alice, json=alice_cross.upload_body())
    usk = alice_cross.user_signing
    signed = usk.sign(cross.key("master"), alice.user_id, f"ed25519:{usk.public}")
    uploaded = await a.ok(
        "POST", "/keys/signatures/upload", alice, json={bob.user_id: {cross.master.public: signed}}
    )
    assert uploaded == {"failures": {}}
    queried = await a.ok("POST", "/keys/query", alice, json={"device_keys": {bob.user_id: []}})
    assert alice.user_id in queried["master_keys"][bob.user_id]["signatures"]

    # A to-device message from Alice reaches Bob's first device exactly once,
    # even though Alice's client retried the request.
    _, bob_since = await b.sync_until(bob, lambda body: True)
    message = {"messages": {bob.user_id: {bob_device.device_id: {"secret": "for bob"}}}}
    for _ in range(2):
        await a.ok("PUT", "/sendToDevice/m.test.secret/retried", alice, json=message)

    def has_message(body: dict[str, Any]) -> bool:
        return bool(body.get("to_device", {}).get("events"))

    body, bob_since = await b.sync_until(bob, has_message, bob_since)
    assert body["to_device"]["events"] == [
        {"type": "m.test.secret", "sender": alice.user_id, "content": {"secret": "for bob"}}
    ]
    # Nothing more arrives (the queue has had time to send anything duplicated).
    await asyncio.sleep(2)
    later = await b.ok("GET", "/sync", bob, params={"since": bob_since, "timeout": "2000"})
    assert not later.get("to_device", {}).get("events")
