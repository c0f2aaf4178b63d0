"""Old to-device transaction ids are forgotten after the retention period
(recent ones stay, so retries within it are still idempotent)."""

from __future__ import annotations

from homeserver.handlers.e2ee.housekeeping import TXN_RETENTION_MS
from homeserver.util import now_ms
from tests.e2ee.test_to_device import send, to_device
from tests.matrix_client import TestClient


async def test_old_transaction_ids_are_forgotten_recent_ones_kept(client: TestClient) -> None:
    housekeeping = client.app.extensions["homeserver"].e2ee.housekeeping
    alice = await client.register("alice")
    bob = await client.register("bob")
    since = (await client.sync(bob))["next_batch"]
    messages = {bob.user_id: {bob.device_id: {"n": 1}}}
    (await send(client, alice, messages, txn_id="kept")).ok()

    assert await housekeeping.run_once() == 0  # within the retention period
    (await send(client, alice, messages, txn_id="kept")).ok()
    synced = await client.sync(bob, since)
    assert len(to_device(synced)) == 1

    assert await housekeeping.run_once(now_ms() + TXN_RETENTION_MS + 1) == 1
    # A request that late with the same id is a new one.
    (await send(client, alice, messages, txn_id="kept")).ok()
    later = await client.sync(bob, synced["next_batch"])
    assert len(to_device(later)) == 1
