"""The E2EE sections cost a woken sync no database query when nothing of
theirs changed: the notifier says whether there are to-device messages or
device-list changes, and key counts are kept in memory."""

from __future__ import annotations

from tests.e2ee.helpers import Device, upload
from tests.e2ee.test_to_device import send
from tests.matrix_client import TestClient
from tests.rooms.test_sync_cost import touching, two_members, woken_sync

E2EE_TABLES = (
    "to_device_messages",
    "device_list_changes",
    "e2e_one_time_keys",
    "e2e_fallback_keys",
    "e2e_device_keys",
)


def e2ee_reads(statements: list[str]) -> list[str]:
    reads = [s for table in E2EE_TABLES for s in touching(statements, table)]
    return reads + [s for s in statements if "m.room.member" in s or "membership" in s]


async def test_a_message_costs_no_e2ee_query(client: TestClient) -> None:
    alice, bob, room_id = await two_members(client)
    (await upload(client, bob, one_time_keys=Device(bob).one_time_keys(2))).ok()
    since = (await client.sync(bob))["next_batch"]
    await client.send_text(alice, room_id, "hello")
    sync, statements = await woken_sync(client, bob, since)
    assert list(sync["rooms"]["join"]) == [room_id]
    assert sync["device_one_time_keys_count"] == {"signed_curve25519": 2}
    assert e2ee_reads(statements) == []


async def test_a_to_device_message_is_read_only_for_its_user(client: TestClient) -> None:
    alice, bob, _room = await two_members(client)
    since = {u.user_id: (await client.sync(u))["next_batch"] for u in (alice, bob)}
    (await send(client, alice, {bob.user_id: {bob.device_id: {"x": 1}}})).ok()
    sync, statements = await woken_sync(client, bob, since[bob.user_id])
    assert [e["content"] for e in sync["to_device"]["events"]] == [{"x": 1}]
    assert touching(statements, "to_device_messages")
    sync, statements = await woken_sync(client, alice, since[alice.user_id])
    assert sync["to_device"]["events"] == []
    assert touching(statements, "to_device_messages") == []
