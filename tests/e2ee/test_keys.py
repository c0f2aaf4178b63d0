"""Device keys, one-time keys and fallback keys: upload, query, claim."""

from __future__ import annotations

import asyncio

import orjson
from sqlalchemy import select

from homeserver.storage.tables import e2e_device_keys
from tests.e2ee.helpers import Device, claim, login, query, upload
from tests.matrix_client import V3, TestClient


async def test_upload_then_query_returns_the_keys_as_uploaded(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    device = Device(alice)
    keys = device.device_keys()
    # Fields the server does not know are kept, unicode and key order too.
    keys["org.example.extra"] = {"zeta": 1, "alpha": "é ✓", "nested": [1, {"b": None}]}
    counts = (await upload(client, alice, device_keys=keys)).ok()
    assert counts == {"one_time_key_counts": {"signed_curve25519": 0}}
    found = await query(client, bob, {alice.user_id: []})
    served = found["device_keys"][alice.user_id][alice.device_id]
    assert served == keys
    assert list(served) == list(keys)
    assert list(served["org.example.extra"]) == ["zeta", "alpha", "nested"]
    # The device's display name comes along, outside what is signed.
    rename = {"display_name": "Phone"}
    path = f"{V3}/devices/{alice.device_id}"
    (await client.put(path, json=rename, token=alice.access_token)).ok()
    found = await query(client, bob, {alice.user_id: []})
    served = found["device_keys"][alice.user_id][alice.device_id]
    assert served.pop("unsigned") == {"device_display_name": "Phone"}
    assert served == keys
    # Asking for a device by id, and for a user with no keys.
    carol = await client.register("carol")
    found = await query(client, bob, {alice.user_id: [alice.device_id], carol.user_id: []})
    assert set(found["device_keys"][alice.user_id]) == {alice.device_id}
    assert found["device_keys"][carol.user_id] == {}
    assert found["failures"] == {}


async def test_stored_json_is_what_the_client_sent(client: TestClient) -> None:
    alice = await client.register("alice")
    keys = Device(alice).device_keys()
    (await upload(client, alice, device_keys=keys)).ok()
    engine = client.app.extensions["homeserver"].storage.engine
    async with engine.connect() as conn:
        stored = await conn.scalar(select(e2e_device_keys.c.key_json))
    assert orjson.loads(stored) == keys


async def test_device_keys_must_be_the_requesters(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    keys = Device(alice).device_keys()
    # Someone else's keys are not malformed but not the caller's to upload.
    (await upload(client, bob, device_keys=keys)).error(403, "M_FORBIDDEN")
    other_device = dict(keys, device_id="SOMEOTHER")
    (await upload(client, alice, device_keys=other_device)).error(403, "M_FORBIDDEN")
    wrong_key_id = dict(keys, keys={"ed25519:SOMEOTHER": "abc"})
    (await upload(client, alice, device_keys=wrong_key_id)).error(403, "M_FORBIDDEN")


async def test_malformed_uploads_are_refused(client: TestClient) -> None:
    alice = await client.register("alice")
    device = Device(alice)
    good = device.device_keys()
    for bad in (
        {"device_keys": "nope"},
        {"device_keys": {**good, "algorithms": "m.olm"}},
        {"device_keys": {**good, "keys": {}}},
        {"device_keys": {**good, "keys": {"nocolon": "x"}}},
        {"device_keys": {k: v for k, v in good.items() if k != "signatures"}},
        {"one_time_keys": ["x"]},
        {"one_time_keys": {"signed_curve25519": {"key": "x"}}},
        {"one_time_keys": {"signed_curve25519:A": {"nokey": "x"}}},
        {"one_time_keys": {"signed_curve25519:A": 5}},
        {"fallback_keys": {"signed_curve25519:A": {"key": "x", "signatures": "x"}}},
        # null is a wrong type, not "absent" (the spec has no nullable field here).
        {"device_keys": None},
        {"one_time_keys": None},
        {"fallback_keys": None},
        # Key ids: <algorithm>:<printable ASCII>, matched whole.
        {"one_time_keys": {"signed_curve25519:A\n": "x"}},
        {"one_time_keys": {"signed_curve25519:\u00e9": "x"}},
        {"one_time_keys": {"signed curve25519:A": "x"}},
    ):
        response = await upload(client, alice, **bad)
        assert response.status == 400, (bad, response.body)
        assert response.body["errcode"] in ("M_BAD_JSON", "M_INVALID_PARAM"), response.body
    (await upload(client, alice, fallback_keys={"a:1": {"key": "x"}, "a:2": {"key": "y"}})).error(
        400, "M_INVALID_PARAM"
    )
    (await client.post(f"{V3}/keys/upload", json={})).error(401, "M_MISSING_TOKEN")


async def test_too_many_one_time_keys_in_one_upload(client: TestClient) -> None:
    alice = await client.register("alice")
    device = Device(alice)
    (await upload(client, alice, one_time_keys=device.one_time_keys(101))).error(
        400, "M_INVALID_PARAM"
    )
    counts = (await upload(client, alice, one_time_keys=device.one_time_keys(100))).ok()
    assert counts["one_time_key_counts"] == {"signed_curve25519": 100}


async def test_one_time_key_reuploaded_with_other_content(client: TestClient) -> None:
    alice = await client.register("alice")
    device = Device(alice)
    keys = device.one_time_keys(2)
    (await upload(client, alice, one_time_keys=keys)).ok()
    # The same keys again: fine, nothing added.
    counts = (await upload(client, alice, one_time_keys=keys)).ok()
    assert counts["one_time_key_counts"]["signed_curve25519"] == 2
    key_id = next(iter(keys))
    (await upload(client, alice, one_time_keys={key_id: {"key": "different"}})).error(
        400, "M_INVALID_PARAM"
    )


async def test_each_one_time_key_is_claimed_once(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    device = Device(alice)
    uploaded = device.one_time_keys(5)
    (await upload(client, alice, device_keys=device.device_keys(), one_time_keys=uploaded)).ok()
    wanted = {alice.user_id: {alice.device_id: "signed_curve25519"}}
    results = await asyncio.gather(*(claim(client, bob, wanted) for _ in range(8)))
    claimed = [r["one_time_keys"].get(alice.user_id, {}).get(alice.device_id) for r in results]
    handed_out = [k for k in claimed if k]
    assert len(handed_out) == 5
    ids = [next(iter(k)) for k in handed_out]
    assert len(set(ids)) == 5 and set(ids) == set(uploaded)
    for key in handed_out:
        ((key_id, value),) = key.items()
        assert value == uploaded[key_id]
    sync = await client.sync(alice)
    assert sync["device_one_time_keys_count"] == {"signed_curve25519": 0}


async def test_claim_falls_back_to_the_fallback_key(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    device = Device(alice)
    fallback = device.one_time_keys(1, fallback=True)
    (
        await upload(client, alice, one_time_keys=device.one_time_keys(1), fallback_keys=fallback)
    ).ok()
    sync = await client.sync(alice)
    assert sync["device_one_time_keys_count"] == {"signed_curve25519": 1}
    assert sync["device_unused_fallback_key_types"] == ["signed_curve25519"]
    wanted = {alice.user_id: {alice.device_id: "signed_curve25519"}}
    first = (await claim(client, bob, wanted))["one_time_keys"][alice.user_id][alice.device_id]
    assert not next(iter(first.values())).get("fallback")
    for _ in range(2):  # the fallback key, as often as asked
        again = (await claim(client, bob, wanted))["one_time_keys"][alice.user_id][alice.device_id]
        assert again == fallback
    sync = await client.sync(alice, sync["next_batch"])
    assert sync["device_unused_fallback_key_types"] == []
    # A new fallback key is unused again.
    (await upload(client, alice, fallback_keys=device.one_time_keys(1, fallback=True))).ok()
    sync = await client.sync(alice, sync["next_batch"])
    assert sync["device_unused_fallback_key_types"] == ["signed_curve25519"]


async def test_claim_and_query_ignore_unknown_users_and_devices(client: TestClient) -> None:
    bob = await client.register("bob")
    result = await claim(
        client,
        bob,
        {"@nobody:localhost": {"X": "signed_curve25519"}, "@far:elsewhere": {"Y": "a"}},
    )
    assert result["one_time_keys"] == {}
    found = await query(client, bob, {"@nobody:localhost": [], "@far:elsewhere": []})
    assert found["device_keys"] == {"@nobody:localhost": {}}
    bad = await client.post(
        f"{V3}/keys/claim", json={"one_time_keys": {"@a:localhost": ["x"]}}, token=bob.access_token
    )
    bad.error(400, "M_BAD_JSON")
    bad = await client.post(
        f"{V3}/keys/query", json={"device_keys": {"notauser": []}}, token=bob.access_token
    )
    bad.error(400, "M_BAD_JSON")


async def test_counts_are_per_device(client: TestClient) -> None:
    alice = await client.register("alice")
    laptop = await login(client, alice)
    (await upload(client, alice, one_time_keys=Device(alice).one_time_keys(3))).ok()
    (await upload(client, laptop, one_time_keys=Device(laptop).one_time_keys(1))).ok()
    assert (await client.sync(alice))["device_one_time_keys_count"]["signed_curve25519"] == 3
    assert (await client.sync(laptop))["device_one_time_keys_count"]["signed_curve25519"] == 1
