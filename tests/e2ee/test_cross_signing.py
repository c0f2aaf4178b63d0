"""Cross-signing keys and signatures: upload (UIA to replace a master key),
signatures checked before they are stored, served by /keys/query."""

from __future__ import annotations

from typing import Any

from tests.e2ee.helpers import (
    CrossSigningKeys,
    Device,
    login,
    query,
    shared_room,
    sync_e2ee,
    upload,
    upload_cross_signing,
)
from tests.matrix_client import V3, TestClient, User


async def signatures_upload(client: TestClient, user: User, body: dict[str, Any]) -> dict[str, Any]:
    result = await client.post(f"{V3}/keys/signatures/upload", json=body, token=user.access_token)
    return dict(result.ok())


async def test_first_upload_needs_no_uia_and_query_shows_the_keys(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    keys = CrossSigningKeys(alice)
    (await upload_cross_signing(client, alice, keys.upload_body())).ok()
    own = await query(client, alice, {alice.user_id: []})
    assert own["master_keys"][alice.user_id] == keys.key("master")
    assert own["self_signing_keys"][alice.user_id] == keys.key("self_signing")
    assert own["user_signing_keys"][alice.user_id] == keys.key("user_signing")
    theirs = await query(client, bob, {alice.user_id: []})
    assert theirs["master_keys"][alice.user_id] == keys.key("master")
    assert theirs["user_signing_keys"] == {}  # only for its owner
    # The same keys again change nothing and need no UIA.
    (await upload_cross_signing(client, alice, keys.upload_body())).ok()


async def test_replacing_the_master_key_needs_uia(client: TestClient) -> None:
    alice = await client.register("alice")
    (await upload_cross_signing(client, alice, CrossSigningKeys(alice).upload_body())).ok()
    replacement = CrossSigningKeys(alice)
    # Refused before any password is asked: the old keys would stop verifying.
    alone = {"master_key": replacement.key("master")}
    (await upload_cross_signing(client, alice, alone)).error(400, "M_BAD_JSON")
    path = f"{V3}/keys/device_signing/upload"
    first = await client.post(path, json=replacement.upload_body(), token=alice.access_token)
    assert first.status == 401
    assert first.body["flows"] == [{"stages": ["m.login.password"]}]
    wrong = {
        **replacement.upload_body(),
        "auth": {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": alice.user_id},
            "password": "not it",
            "session": first.body["session"],
        },
    }
    denied = await client.post(path, json=wrong, token=alice.access_token)
    assert denied.status == 401 and denied.body["errcode"] == "M_FORBIDDEN"
    (await upload_cross_signing(client, alice, replacement.upload_body(), password=True)).ok()
    own = await query(client, alice, {alice.user_id: []})
    assert own["master_keys"][alice.user_id] == replacement.key("master")


async def test_bad_cross_signing_uploads(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    keys = CrossSigningKeys(alice)
    unsigned_ssk = {**keys.key("self_signing"), "signatures": {}}
    body = {"master_key": keys.key("master"), "self_signing_key": unsigned_ssk}
    (await upload_cross_signing(client, alice, body)).error(400, "M_INVALID_SIGNATURE")
    # Someone else's keys: not authorised (the spec's 403 for this endpoint).
    (await upload_cross_signing(client, bob, keys.upload_body())).error(403, "M_FORBIDDEN")
    (await upload_cross_signing(client, alice, {"master_key": None})).error(400, "M_BAD_JSON")
    (
        await upload_cross_signing(client, alice, {"self_signing_key": keys.key("self_signing")})
    ).error(400, "M_BAD_JSON")
    bad_usage = {**keys.key("master"), "usage": ["self_signing"]}
    (await upload_cross_signing(client, alice, {"master_key": bad_usage})).error(400, "M_BAD_JSON")
    two_keys = {**keys.key("master"), "keys": {"ed25519:a": "a", "ed25519:b": "b"}}
    (await upload_cross_signing(client, alice, {"master_key": two_keys})).error(400, "M_BAD_JSON")
    (await upload_cross_signing(client, alice, {})).error(400, "M_BAD_JSON")


async def test_signing_own_device_and_master_key(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await shared_room(client, alice, bob)
    device = Device(alice)
    (await upload(client, alice, device_keys=device.device_keys())).ok()
    keys = CrossSigningKeys(alice)
    (await upload_cross_signing(client, alice, keys.upload_body())).ok()
    since = (await client.sync(bob))["next_batch"]
    signed_device = keys.self_signing.sign(device.device_keys(), alice.user_id)
    signed_master = device.ed25519.sign(
        keys.key("master"), alice.user_id, f"ed25519:{alice.device_id}"
    )
    result = await signatures_upload(
        client,
        alice,
        {alice.user_id: {alice.device_id: signed_device, keys.master.public: signed_master}},
    )
    assert result == {"failures": {}}
    found = await query(client, bob, {alice.user_id: []})
    served = found["device_keys"][alice.user_id][alice.device_id]
    ssk_id = f"ed25519:{keys.self_signing.public}"
    assert (
        served["signatures"][alice.user_id][ssk_id]
        == signed_device["signatures"][alice.user_id][ssk_id]
    )
    assert served["signatures"][alice.user_id][f"ed25519:{alice.device_id}"]  # its own, as uploaded
    master = found["master_keys"][alice.user_id]
    assert master["signatures"][alice.user_id][f"ed25519:{alice.device_id}"]
    changed, _ = sync_e2ee(await client.sync(bob, since))
    assert changed == [alice.user_id]


async def test_signing_another_users_master_key(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    alice_keys = CrossSigningKeys(alice)
    bob_keys = CrossSigningKeys(bob)
    (await upload_cross_signing(client, alice, alice_keys.upload_body())).ok()
    (await upload_cross_signing(client, bob, bob_keys.upload_body())).ok()
    signed = alice_keys.user_signing.sign(bob_keys.key("master"), alice.user_id)
    result = await signatures_upload(client, alice, {bob.user_id: {bob_keys.master.public: signed}})
    assert result == {"failures": {}}
    found = await query(client, alice, {bob.user_id: []})
    usk_id = f"ed25519:{alice_keys.user_signing.public}"
    assert usk_id in found["master_keys"][bob.user_id]["signatures"][alice.user_id]
    # Only alice sees whom she verified.
    carol = await client.register("carol")
    for other in (bob, carol):
        seen = await query(client, other, {bob.user_id: []})
        assert alice.user_id not in seen["master_keys"][bob.user_id].get("signatures", {})


async def test_signatures_that_do_not_verify_are_failures(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    device = Device(alice)
    (await upload(client, alice, device_keys=device.device_keys())).ok()
    alice_keys = CrossSigningKeys(alice)
    bob_keys = CrossSigningKeys(bob)
    (await upload_cross_signing(client, alice, alice_keys.upload_body())).ok()
    (await upload_cross_signing(client, bob, bob_keys.upload_body())).ok()
    # Signed by a key that is not alice's self-signing key, but named as if it were.
    impostor = CrossSigningKeys(alice).self_signing
    forged = impostor.sign(
        device.device_keys(), alice.user_id, f"ed25519:{alice_keys.self_signing.public}"
    )
    # A signature over other content than the stored key.
    tampered = alice_keys.self_signing.sign(
        {**device.device_keys(), "algorithms": []}, alice.user_id
    )
    body = {
        alice.user_id: {alice.device_id: forged, "NOSUCHDEVICE": tampered},
        # Bob's master key signed with alice's self-signing key instead of her user-signing key.
        bob.user_id: {
            bob_keys.master.public: alice_keys.self_signing.sign(
                bob_keys.key("master"), alice.user_id
            ),
            "BOBSDEVICE": {"user_id": bob.user_id},
        },
    }
    result = await signatures_upload(client, alice, body)
    failures = result["failures"]
    assert failures[alice.user_id][alice.device_id]["errcode"] == "M_INVALID_SIGNATURE"
    assert failures[alice.user_id]["NOSUCHDEVICE"]["errcode"] == "M_NOT_FOUND"
    assert failures[bob.user_id][bob_keys.master.public]["errcode"] == "M_INVALID_SIGNATURE"
    assert failures[bob.user_id]["BOBSDEVICE"]["errcode"] == "M_INVALID_SIGNATURE"
    found = await query(client, bob, {alice.user_id: [], bob.user_id: []})
    served = found["device_keys"][alice.user_id][alice.device_id]
    assert set(served["signatures"][alice.user_id]) == {f"ed25519:{alice.device_id}"}
    assert alice.user_id not in found["master_keys"][bob.user_id].get("signatures", {})
    bad = await client.post(
        f"{V3}/keys/signatures/upload", json={alice.user_id: []}, token=alice.access_token
    )
    bad.error(400, "M_BAD_JSON")


async def test_a_second_device_verified_by_cross_signing(client: TestClient) -> None:
    alice = await client.register("alice")
    keys = CrossSigningKeys(alice)
    (await upload_cross_signing(client, alice, keys.upload_body())).ok()
    laptop = await login(client, alice)
    device = Device(laptop)
    (await upload(client, laptop, device_keys=device.device_keys())).ok()
    signed = keys.self_signing.sign(device.device_keys(), alice.user_id)
    assert (
        await signatures_upload(client, alice, {alice.user_id: {laptop.device_id: signed}})
    ) == {"failures": {}}
    found = await query(client, alice, {alice.user_id: [laptop.device_id]})
    served = found["device_keys"][alice.user_id][laptop.device_id]
    assert f"ed25519:{keys.self_signing.public}" in served["signatures"][alice.user_id]
