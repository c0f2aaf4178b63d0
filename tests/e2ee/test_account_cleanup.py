"""What E2EE leaves behind is cleaned up: concurrent backup creations each get
a version, a closed account keeps no keys, backups or inbox, and sendToDevice
transaction ids go with their device and after the retention period."""

from __future__ import annotations

import asyncio

from sqlalchemy import Table, func, or_, select

from homeserver.handlers.e2ee.housekeeping import TXN_RETENTION_MS
from homeserver.server import HomeServer
from homeserver.storage.tables import (
    e2e_cross_signing_keys,
    e2e_device_keys,
    e2e_fallback_keys,
    e2e_key_signatures,
    e2e_one_time_keys,
    room_key_backup_keys,
    room_key_backup_versions,
    to_device_messages,
    to_device_txns,
)
from homeserver.util import now_ms
from tests.e2ee.helpers import CrossSigningKeys, Device, login, upload, upload_cross_signing
from tests.e2ee.test_cross_signing import signatures_upload
from tests.e2ee.test_key_backup import ALGORITHM, ROOM, create, session_key
from tests.e2ee.test_to_device import send
from tests.matrix_client import V3, TestClient, User, q

USER_TABLES: tuple[Table, ...] = (
    e2e_device_keys,
    e2e_one_time_keys,
    e2e_fallback_keys,
    e2e_cross_signing_keys,
    room_key_backup_versions,
    room_key_backup_keys,
    to_device_messages,
    to_device_txns,
)


def server(client: TestClient) -> HomeServer:
    hs: HomeServer = client.app.extensions["homeserver"]
    return hs


async def rows_of(client: TestClient, table: Table, user_id: str) -> int:
    async with server(client).storage.engine.connect() as conn:
        condition = table.c.user_id == user_id
        if table is e2e_key_signatures:
            condition = or_(condition, table.c.signer_user_id == user_id)
        found = await conn.scalar(select(func.count()).select_from(table).where(condition))
    return int(found or 0)


async def txn_count(client: TestClient) -> int:
    async with server(client).storage.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(to_device_txns)) or 0)


async def test_concurrent_backup_creations_each_get_a_version(client: TestClient) -> None:
    alice = await client.register("alice")
    store = server(client).storage.key_backup
    created = await asyncio.gather(
        *(store.create_version(alice.user_id, ALGORITHM, "{}") for _ in range(6))
    )
    assert sorted(created) == list(range(1, 7))
    # And over the API: every request succeeds with a version of its own.
    over_api = await asyncio.gather(*(create(client, alice) for _ in range(4)))
    assert sorted(int(v) for v in over_api) == list(range(7, 11))


async def keys_everywhere(client: TestClient, alice: User, bob: User) -> None:
    """Alice holds every kind of E2EE record the server keeps for a user."""
    laptop = await login(client, alice)
    devices = [Device(alice), Device(laptop)]
    for device in devices:
        user = device.user
        (
            await upload(
                client,
                user,
                device_keys=device.device_keys(),
                one_time_keys=device.one_time_keys(2),
                fallback_keys=device.one_time_keys(1, fallback=True),
            )
        ).ok()
    cross = CrossSigningKeys(alice)
    (await upload_cross_signing(client, alice, cross.upload_body())).ok()
    signed = cross.self_signing.sign(devices[0].device_keys(), alice.user_id)
    result = await signatures_upload(client, alice, {alice.user_id: {alice.device_id: signed}})
    assert result == {"failures": {}}
    version = await create(client, alice)
    path = f"{V3}/room_keys/keys/{q(ROOM)}/sess1?version={version}"
    (await client.put(path, json=session_key(), token=alice.access_token)).ok()
    (await send(client, bob, {alice.user_id: {"*": {"hello": 1}}})).ok()
    (await send(client, alice, {bob.user_id: {bob.device_id: {"hi": 1}}})).ok()


async def test_a_closed_account_keeps_no_keys_backups_or_inbox(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    await keys_everywhere(client, alice, bob)
    for table in USER_TABLES:
        assert await rows_of(client, table, alice.user_id) > 0, table.name
    assert await rows_of(client, e2e_key_signatures, alice.user_id) > 0
    await keys_everywhere(client, bob, alice)

    await server(client).deactivation.deactivate(alice.user_id, erase=False)

    for table in (*USER_TABLES, e2e_key_signatures):
        assert await rows_of(client, table, alice.user_id) == 0, table.name
    # Bob's records are untouched (the signatures on his keys are his own).
    for table in USER_TABLES:
        assert await rows_of(client, table, bob.user_id) > 0, table.name
    theirs = (
        await client.post(
            f"{V3}/keys/query", json={"device_keys": {alice.user_id: []}}, token=bob.access_token
        )
    ).ok()
    assert theirs["device_keys"].get(alice.user_id, {}) == {}
    assert alice.user_id not in theirs.get("master_keys", {})


async def test_transaction_ids_go_with_their_device(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    laptop = await login(client, alice)
    (await send(client, laptop, {bob.user_id: {bob.device_id: {"x": 1}}}, txn_id="t1")).ok()
    (await send(client, alice, {bob.user_id: {bob.device_id: {"x": 2}}}, txn_id="t1")).ok()
    assert await txn_count(client) == 2
    (await client.post(f"{V3}/logout", json={}, token=laptop.access_token)).ok()
    assert await rows_of(client, to_device_txns, alice.user_id) == 1


async def test_housekeeping_forgets_old_transaction_ids(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    (await send(client, alice, {bob.user_id: {bob.device_id: {"x": 1}}}, txn_id="old")).ok()
    housekeeping = server(client).e2ee.housekeeping
    await housekeeping.run_once(now_ms())
    assert await txn_count(client) == 1  # still within the retention period
    await housekeeping.run_once(now_ms() + TXN_RETENTION_MS + 1000)
    assert await txn_count(client) == 0


async def test_query_and_claim_timeouts_must_be_integers(client: TestClient) -> None:
    # Found by schemathesis: the spec says integer, so nothing else passes.
    alice = await client.register("alice")
    for path, field in (("keys/query", "device_keys"), ("keys/claim", "one_time_keys")):
        for bad in ("10", None, {}, True, 1.5):
            body = {field: {}, "timeout": bad}
            (await client.post(f"{V3}/{path}", json=body, token=alice.access_token)).error(
                400, "M_BAD_JSON"
            )
        (
            await client.post(
                f"{V3}/{path}", json={field: {}, "timeout": 10}, token=alice.access_token
            )
        ).ok()
