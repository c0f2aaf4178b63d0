"""Sending, idempotency, fetching, paging and redacting messages."""

from __future__ import annotations

import asyncio

from tests.matrix_client import V3, TestClient, User, q


async def page_all(
    client: TestClient,
    user: User,
    room_id: str,
    direction: str,
    limit: int,
    start: str | None = None,
) -> list[str]:
    bodies: list[str] = []
    token = start
    for _ in range(1000):
        query = {"dir": direction, "limit": limit}
        if token is not None:
            query["from"] = token
        page = (
            await client.get(
                f"{V3}/rooms/{q(room_id)}/messages", token=user.access_token, query=query
            )
        ).ok()
        bodies.extend(e["content"]["body"] for e in page["chunk"] if e["type"] == "m.room.message")
        if "end" not in page:
            return bodies
        token = page["end"]
    raise AssertionError("pagination did not end")


async def test_send_is_idempotent_per_device(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    first = await client.send_text(alice, room_id, "once", txn_id="abc")
    again = await client.send_text(alice, room_id, "once", txn_id="abc")
    assert first == again
    # The same transaction id from another device is another message.
    login = (
        await client.post(
            f"{V3}/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "alice"},
                "password": alice.password,
            },
        )
    ).ok()
    other = User(alice.user_id, login["access_token"], login["device_id"], alice.password)
    assert await client.send_text(other, room_id, "once", txn_id="abc") != first
    assert await page_all(client, alice, room_id, "b", 50) == ["once", "once"]


async def test_concurrent_retries_store_one_event(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    ids = await asyncio.gather(
        *(client.send_text(alice, room_id, "racy", txn_id="same") for _ in range(5))
    )
    assert len(set(ids)) == 1
    assert await page_all(client, alice, room_id, "b", 50) == ["racy"]


async def test_a_retry_after_leaving_gets_the_event_sent(client: TestClient) -> None:
    """The retry of a send that went through is answered with its event even
    when no new event could be sent now; a new transaction is refused."""
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    await client.join(bob, room_id)
    first = await client.send_text(bob, room_id, "before leaving", txn_id="t1")
    (await client.post(f"{V3}/rooms/{q(room_id)}/leave", token=bob.access_token, json={})).ok()
    assert await client.send_text(bob, room_id, "before leaving", txn_id="t1") == first
    refused = await client.put(
        f"{V3}/rooms/{q(room_id)}/send/m.room.message/t2",
        token=bob.access_token,
        json={"msgtype": "m.text", "body": "after leaving"},
    )
    refused.error(403, "M_FORBIDDEN")


async def test_get_event_and_transaction_id_echo(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    event_id = await client.send_text(alice, room_id, "hello", txn_id="t-echo")
    event = (
        await client.get(f"{V3}/rooms/{q(room_id)}/event/{q(event_id)}", token=alice.access_token)
    ).ok()
    assert event["content"] == {"msgtype": "m.text", "body": "hello"}
    assert event["unsigned"]["transaction_id"] == "t-echo"
    assert event["room_id"] == room_id and event["sender"] == alice.user_id
    missing = f"{V3}/rooms/{q(room_id)}/event/{q('$nope')}"
    (await client.get(missing, token=alice.access_token)).error(404, "M_NOT_FOUND")


async def test_send_validation(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    url = f"{V3}/rooms/{q(room_id)}/send/m.room.message/x1"
    (
        await client.put(
            url,
            data=b"not json",
            token=alice.access_token,
            headers={"Content-Type": "application/json"},
        )
    ).error(400, "M_NOT_JSON")
    (await client.put(url, json=[1, 2], token=alice.access_token)).error(400, "M_BAD_JSON")
    (await client.put(url, json={"body": 1.5}, token=alice.access_token)).error(400, "M_BAD_JSON")
    too_big = {"msgtype": "m.text", "body": "x" * 70_000}
    (await client.put(url, json=too_big, token=alice.access_token)).error(413, "M_TOO_LARGE")
    unknown_room = f"{V3}/rooms/{q('!nope:localhost')}/send/m.room.message/x2"
    (await client.put(unknown_room, json={"body": "x"}, token=alice.access_token)).error(
        403, "M_FORBIDDEN"
    )


async def test_pagination_in_order_both_ways(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    sent = [f"m{i}" for i in range(37)]
    for body in sent:
        await client.send_text(alice, room_id, body)
    assert await page_all(client, alice, room_id, "b", 10) == list(reversed(sent))
    assert await page_all(client, alice, room_id, "f", 7) == sent


async def test_pagination_from_sync_prev_batch(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    for i in range(25):
        await client.send_text(alice, room_id, f"m{i}")
    sync = await client.sync(alice, filter='{"room":{"timeline":{"limit":5}}}')
    timeline = sync["rooms"]["join"][room_id]["timeline"]
    assert timeline["limited"] is True
    seen = [e["content"]["body"] for e in timeline["events"]]
    assert seen == [f"m{i}" for i in range(20, 25)]
    older = await page_all(client, alice, room_id, "b", 6, start=timeline["prev_batch"])
    assert older == [f"m{i}" for i in reversed(range(20))]


async def test_messages_filter_and_bad_params(client: TestClient) -> None:
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    await client.send_text(alice, room_id, "text")
    url = f"{V3}/rooms/{q(room_id)}/messages"
    page = (
        await client.get(
            url,
            token=alice.access_token,
            query={"dir": "b", "filter": '{"types":["m.room.message"]}'},
        )
    ).ok()
    assert [e["type"] for e in page["chunk"]] == ["m.room.message"]
    (await client.get(url, token=alice.access_token, query={"dir": "x"})).error(
        400, "M_INVALID_PARAM"
    )
    (await client.get(url, token=alice.access_token, query={"dir": "b", "from": "zzz"})).error(
        400, "M_INVALID_PARAM"
    )
    (await client.get(url, token=alice.access_token, query={"dir": "b", "limit": "x"})).error(
        400, "M_INVALID_PARAM"
    )
    (await client.get(url, token=alice.access_token, query={"dir": "b", "filter": "{"})).error(
        400, "M_INVALID_PARAM"
    )


async def test_redaction(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    bob_msg = await client.send_text(bob, room_id, "secret")
    alice_msg = await client.send_text(alice, room_id, "mine")

    redact = f"{V3}/rooms/{q(room_id)}/redact/{q(alice_msg)}/r1"
    (await client.put(redact, json={"reason": "oops"}, token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    own = f"{V3}/rooms/{q(room_id)}/redact/{q(bob_msg)}/r2"
    redaction_id = (await client.put(own, json={}, token=bob.access_token)).ok()["event_id"]
    # A moderator may redact others' events.
    (
        await client.put(
            f"{V3}/rooms/{q(room_id)}/redact/{q(alice_msg)}/r3", json={}, token=alice.access_token
        )
    ).ok()

    event = (
        await client.get(f"{V3}/rooms/{q(room_id)}/event/{q(bob_msg)}", token=alice.access_token)
    ).ok()
    assert event["content"] == {}
    assert event["unsigned"]["redacted_because"]["event_id"] == redaction_id
    server = client.app.extensions["homeserver"]
    stored = await server.storage.events.get_event(bob_msg)
    assert "secret" not in str(stored.event)  # the content is gone from the database

    missing = f"{V3}/rooms/{q(room_id)}/redact/{q('$missing')}/r4"
    (await client.put(missing, json={}, token=alice.access_token)).error(404, "M_NOT_FOUND")


async def test_state_events(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    name_url = f"{V3}/rooms/{q(room_id)}/state/m.room.name"
    (await client.put(f"{name_url}/", json={"name": "New"}, token=alice.access_token)).ok()
    assert (await client.get(name_url, token=bob.access_token)).ok() == {"name": "New"}
    assert (await client.get(f"{name_url}/", token=bob.access_token)).ok() == {"name": "New"}
    full = (await client.get(name_url, token=bob.access_token, query={"format": "event"})).ok()
    assert full["type"] == "m.room.name" and full["state_key"] == ""
    # Below state_default (50): forbidden.
    (await client.put(name_url, json={"name": "Bob's"}, token=bob.access_token)).error(
        403, "M_FORBIDDEN"
    )
    # Custom state with a key, including a slash.
    custom = f"{V3}/rooms/{q(room_id)}/state/org.example.widget/a%2Fb"
    (await client.put(custom, json={"v": 1}, token=alice.access_token)).ok()
    assert (await client.get(custom, token=bob.access_token)).ok() == {"v": 1}
    missing = f"{V3}/rooms/{q(room_id)}/state/m.room.topic"
    (await client.get(missing, token=bob.access_token)).error(404, "M_NOT_FOUND")
    # Someone else's user-keyed state is forbidden.
    other = f"{V3}/rooms/{q(room_id)}/state/org.example.profile/{q(alice.user_id)}"
    (await client.put(other, json={}, token=bob.access_token)).error(403, "M_FORBIDDEN")
    # Power levels cannot be escalated.
    pl_url = f"{V3}/rooms/{q(room_id)}/state/m.room.power_levels"
    levels = (await client.get(pl_url, token=alice.access_token)).ok()
    levels["users"][bob.user_id] = 100
    (await client.put(pl_url, json=levels, token=bob.access_token)).error(403, "M_FORBIDDEN")
    members = (await client.get(f"{V3}/rooms/{q(room_id)}/members", token=bob.access_token)).ok()
    assert {e["state_key"] for e in members["chunk"]} == {alice.user_id, bob.user_id}
    joined_only = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/members", token=bob.access_token, query={"membership": "join"}
        )
    ).ok()
    assert len(joined_only["chunk"]) == 2
