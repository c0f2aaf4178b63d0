"""To-device messages: sent once per transaction, delivered once per device,
deleted when the next sync acknowledges them."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson
from sqlalchemy import func, select

from homeserver.handlers.e2ee.to_device import MAX_PER_SYNC
from homeserver.storage.tables import to_device_messages
from tests.e2ee.helpers import login
from tests.matrix_client import V3, Response, TestClient, User, q

_txns = itertools.count(1)


async def send(
    client: TestClient,
    sender: User,
    messages: Any,
    event_type: str = "m.room_key_request",
    txn_id: str | None = None,
) -> Response:
    txn = txn_id or f"td{next(_txns)}"
    return await client.put(
        f"{V3}/sendToDevice/{q(event_type)}/{q(txn)}",
        json={"messages": messages},
        token=sender.access_token,
    )


def to_device(sync: dict[str, Any]) -> list[dict[str, Any]]:
    return list(sync["to_device"]["events"])


async def until_waiting(client: TestClient, count: int = 1) -> None:
    notifier = client.app.extensions["homeserver"].notifier
    async with asyncio.timeout(5):
        while notifier.waiting_count() < count:  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def stored_count(client: TestClient) -> int:
    engine = client.app.extensions["homeserver"].storage.engine
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(to_device_messages)) or 0)


async def test_delivered_once_then_deleted(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    first = await client.sync(bob)
    content = {"algorithm": "m.olm.v1.curve25519-aes-sha2", "ciphertext": {"k": {"body": "x"}}}
    (await send(client, alice, {bob.user_id: {bob.device_id: content}}, "m.room.encrypted")).ok()
    got = await client.sync(bob, first["next_batch"])
    assert to_device(got) == [
        {"type": "m.room.encrypted", "sender": alice.user_id, "content": content}
    ]
    assert await stored_count(client) == 1  # not acknowledged yet
    # Syncing again from the same token gets it again (that response was lost).
    again = await client.sync(bob, first["next_batch"])
    assert to_device(again) == to_device(got)
    after = await client.sync(bob, again["next_batch"])
    assert to_device(after) == []
    assert await stored_count(client) == 0


async def test_transaction_ids_make_sends_idempotent(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    first = await client.sync(bob)
    messages = {bob.user_id: {bob.device_id: {"n": 1}}}
    for _ in range(3):
        (await send(client, alice, messages, txn_id="same")).ok()
    # Another of alice's devices may use the same transaction id.
    other = await login(client, alice)
    (await send(client, other, messages, txn_id="same")).ok()
    got = await client.sync(bob, first["next_batch"])
    assert len(to_device(got)) == 2


async def test_star_reaches_every_device_and_explicit_ids_win(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    laptop = await login(client, bob)
    tokens = {u.device_id: (await client.sync(u))["next_batch"] for u in (bob, laptop)}
    messages = {bob.user_id: {"*": {"to": "all"}, laptop.device_id: {"to": "laptop"}}}
    (await send(client, alice, messages)).ok()
    phone = await client.sync(bob, tokens[bob.device_id])
    on_laptop = await client.sync(laptop, tokens[laptop.device_id])
    assert [e["content"] for e in to_device(phone)] == [{"to": "all"}]
    assert [e["content"] for e in to_device(on_laptop)] == [{"to": "laptop"}]


async def test_unknown_recipients_are_dropped_and_bad_bodies_refused(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    messages: dict[str, Any] = {
        "@nobody:localhost": {"X": {}},
        bob.user_id: {"NOSUCHDEVICE": {}},
        "@someone:elsewhere.org": {"Y": {}},
    }
    assert (await send(client, alice, messages)).ok() == {}
    assert await stored_count(client) == 0
    bad_bodies: list[Any] = ["x", {"notauser": {}}, {bob.user_id: []}, {bob.user_id: {"D": "x"}}]
    for bad in bad_bodies:
        (await send(client, alice, bad)).error(400, "M_BAD_JSON")
    path = f"{V3}/sendToDevice/m.x/t1"
    (await client.put(path, json={}, token=alice.access_token)).error(400, "M_BAD_JSON")
    # A transaction id already used does not let a malformed body through.
    (await send(client, alice, {bob.user_id: {"D": {}}}, txn_id="used")).ok()
    (await send(client, alice, {bob.user_id: {"D": "x"}}, txn_id="used")).error(400, "M_BAD_JSON")
    (await client.put(path, json={"messages": {}})).error(401, "M_MISSING_TOKEN")


async def test_a_full_inbox_comes_in_parts(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    since = (await client.sync(bob))["next_batch"]
    total = MAX_PER_SYNC + 30
    for n in range(total):
        (await send(client, alice, {bob.user_id: {bob.device_id: {"n": n}}})).ok()
    received: list[int] = []
    for _ in range(3):
        sync = await client.sync(bob, since)
        batch = [e["content"]["n"] for e in to_device(sync)]
        assert len(batch) <= MAX_PER_SYNC
        received.extend(batch)
        since = sync["next_batch"]
    assert received == list(range(total))
    await client.sync(bob, since)
    assert await stored_count(client) == 0


async def test_a_waiting_sync_wakes_for_a_message(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    since = (await client.sync(bob))["next_batch"]
    waiting = asyncio.create_task(client.sync(bob, since, timeout=10_000))
    await until_waiting(client)
    assert not waiting.done()
    (await send(client, alice, {bob.user_id: {bob.device_id: {"hello": True}}})).ok()
    got = await asyncio.wait_for(waiting, 5)
    assert [e["content"] for e in to_device(got)] == [{"hello": True}]


async def test_deleting_a_device_empties_its_inbox(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    laptop = await login(client, bob)
    (await send(client, alice, {bob.user_id: {"*": {"x": 1}}})).ok()
    assert await stored_count(client) == 2
    (await client.post(f"{V3}/logout", json={}, token=laptop.access_token)).ok()
    assert await stored_count(client) == 1


async def test_old_tokens_without_the_to_device_field_still_work(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    events, typing, presence = (await client.sync(bob))["next_batch"][1:].split("_")[:3]
    old = f"s{events}_{typing}_{presence}"
    (await send(client, alice, {bob.user_id: {bob.device_id: {"x": 1}}})).ok()
    got = await client.sync(bob, old)
    assert [e["content"] for e in to_device(got)] == [{"x": 1}]


async def test_the_websocket_stream_deletes_them_once_acked(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    async with client.app.test_client().websocket(
        "/_matrix/client/unstable/homeserver.sync/ws", subprotocols=["homeserver.sync.v1"]
    ) as ws:
        await ws.send(orjson.dumps({"type": "start", "access_token": bob.access_token}))
        assert orjson.loads(await ws.receive())["type"] == "ready"
        initial = orjson.loads(await ws.receive())
        await ws.send(orjson.dumps({"type": "ack", "seq": initial["seq"]}))
        (await send(client, alice, {bob.user_id: {bob.device_id: {"over": "socket"}}})).ok()
        frame = orjson.loads(await ws.receive())
        while not frame.get("data", {}).get("to_device", {}).get("events"):
            frame = orjson.loads(await ws.receive())
        assert [e["content"] for e in frame["data"]["to_device"]["events"]] == [{"over": "socket"}]
        assert await stored_count(client) == 1  # sent, not acknowledged
        await ws.send(orjson.dumps({"type": "ack", "seq": frame["seq"]}))
        async with asyncio.timeout(5):
            while await stored_count(client):  # noqa: ASYNC110 (no signal for the ack)
                await asyncio.sleep(0.005)
    # Resuming from the acknowledged token delivers nothing again.
    resumed = await client.sync(bob, frame["next_batch"])
    assert to_device(resumed) == []
