"""What a woken incremental sync costs in database queries, and that the
in-memory answers it uses instead (memberships, receipts, unread counts, recent
events) stay exactly what the database would say."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from homeserver.handlers.filters import SyncFilter
from homeserver.handlers.recent_events import RecentEvents
from homeserver.handlers.tokens import Requester
from homeserver.server import HomeServer
from homeserver.streams.tokens import StreamToken
from tests.matrix_client import V3, TestClient, User, q


@contextlib.contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)


def server_of(client: TestClient) -> HomeServer:
    server: HomeServer = client.app.extensions["homeserver"]
    return server


def requester(user: User) -> Requester:
    return Requester(user.user_id, user.device_id, "session")


async def settle() -> None:
    """Lets background work started by a send (pushes, presence) finish."""
    await asyncio.sleep(0.05)


async def woken_sync(
    client: TestClient, user: User, since: str
) -> tuple[dict[str, Any], list[str]]:
    """The delta a sync woken now computes, and the statements it ran."""
    server = server_of(client)
    await settle()
    token = StreamToken.parse(since)
    with counting(server.storage.engine) as statements:
        result = await server.sync.compute(
            requester(user), token, server.sync.current_token(), SyncFilter()
        )
    return result.to_json(), statements


def touching(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if f"FROM {table}" in s or f"JOIN {table}" in s]


def receipt_reads(statements: list[str]) -> list[str]:
    """Reads of receipts themselves (unread counts join them too)."""
    return [s for s in touching(statements, "receipts") if "event_push_actions" not in s]


async def two_members(client: TestClient) -> tuple[User, User, str]:
    """Alice and Bob in a room, both online already (so that a message later
    changes nobody's presence)."""
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, room_id)).ok()
    await client.send_text(alice, room_id, "warm-up")
    await client.sync(alice)
    return alice, bob, room_id


async def test_woken_sync_does_not_ask_for_memberships_or_receipts(client: TestClient) -> None:
    alice, bob, room_id = await two_members(client)
    since = (await client.sync(bob))["next_batch"]
    await client.send_text(alice, room_id, "hello")
    sync, statements = await woken_sync(client, bob, since)
    assert list(sync["rooms"]["join"]) == [room_id]
    assert touching(statements, "memberships") == []
    assert receipt_reads(statements) == []


async def test_receipts_are_asked_for_only_in_rooms_with_new_receipts(client: TestClient) -> None:
    alice, bob, room_id = await two_members(client)
    quiet_room = await client.create_room(alice, preset="public_chat")
    (await client.join(bob, quiet_room)).ok()
    event_id = await client.send_text(alice, room_id, "read me")
    since = (await client.sync(bob))["next_batch"]
    (
        await client.post(
            f"{V3}/rooms/{q(room_id)}/receipt/m.read/{q(event_id)}",
            json={},
            token=alice.access_token,
        )
    ).ok()
    sync, statements = await woken_sync(client, bob, since)
    receipts = sync["rooms"]["join"][room_id]["ephemeral"]["events"]
    assert receipts[0]["content"][event_id]["m.read"][alice.user_id]["ts"] > 0
    assert quiet_room not in sync["rooms"]["join"]
    queried = receipt_reads(statements)
    assert queried, "the receipt was not read"


async def test_membership_changes_reach_a_warm_cache(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice, name="Club")
    since = (await client.sync(bob))["next_batch"]
    # Warm: bob's memberships are cached now.
    assert (await client.sync(bob, since=since))["rooms"]["invite"] == {}

    (await client.invite(alice, room_id, bob.user_id)).ok()
    invited = await client.sync(bob, since=since)
    assert list(invited["rooms"]["invite"]) == [room_id]

    (await client.join(bob, room_id)).ok()
    joined = await client.sync(bob, since=invited["next_batch"])
    assert list(joined["rooms"]["join"]) == [room_id]

    (
        await client.post(
            f"{V3}/rooms/{q(room_id)}/ban",
            json={"user_id": bob.user_id},
            token=alice.access_token,
        )
    ).ok()
    banned = await client.sync(bob, since=joined["next_batch"])
    assert list(banned["rooms"]["leave"]) == [room_id]
    assert banned["rooms"]["join"] == {}
    rooms = (await client.get(f"{V3}/joined_rooms", token=bob.access_token)).ok()
    assert rooms["joined_rooms"] == []

    (
        await client.post(
            f"{V3}/rooms/{q(room_id)}/unban",
            json={"user_id": bob.user_id},
            token=alice.access_token,
        )
    ).ok()
    full = await client.sync(bob, filter='{"room":{"include_leave":true}}')
    assert room_id in full["rooms"]["leave"]
    (await client.post(f"{V3}/rooms/{q(room_id)}/forget", json={}, token=bob.access_token)).ok()
    forgotten = await client.sync(bob, filter='{"room":{"include_leave":true}}')
    assert room_id not in forgotten["rooms"]["leave"]


async def test_membership_cache_loads_once_per_change(client: TestClient) -> None:
    alice, bob, room_id = await two_members(client)
    server = server_of(client)
    since = (await client.sync(bob))["next_batch"]
    loads = server.user_rooms.loads
    for i in range(3):
        await client.send_text(alice, room_id, f"m{i}")
        since = (await client.sync(bob, since=since))["next_batch"]
    assert server.user_rooms.loads == loads
    (await client.post(f"{V3}/rooms/{q(room_id)}/leave", json={}, token=bob.access_token)).ok()
    left = await client.sync(bob, since=since)
    assert list(left["rooms"]["leave"]) == [room_id]
    assert server.user_rooms.loads == loads + 1


def without_age(sync: dict[str, Any]) -> dict[str, Any]:
    """The response with `unsigned.age` (which depends on the clock) removed."""
    for section in sync["rooms"].values():
        for room in section.values():
            for part in ("timeline", "state"):
                for room_event in room.get(part, {}).get("events", []):
                    room_event.get("unsigned", {}).pop("age", None)
    return sync


async def from_database(
    client: TestClient, user: User, since: str | None, now: StreamToken, sync_filter: SyncFilter
) -> dict[str, Any]:
    """The same delta with an empty window of recent events (so read from the
    database, as before it existed)."""
    server = server_of(client)
    recent = server.sync._recent_events
    server.sync._recent_events = RecentEvents(server.storage, server.notifier)
    try:
        token = None if since is None else StreamToken.parse(since)
        result = await server.sync.compute(requester(user), token, now, sync_filter)
    finally:
        server.sync._recent_events = recent
    return without_age(result.to_json())


async def compute(
    client: TestClient,
    user: User,
    since: str | None,
    now: StreamToken | None = None,
    sync_filter: SyncFilter | None = None,
) -> dict[str, Any]:
    server = server_of(client)
    token = None if since is None else StreamToken.parse(since)
    result = await server.sync.compute(
        requester(user), token, now or server.sync.current_token(), sync_filter or SyncFilter()
    )
    return without_age(result.to_json())


async def three_members(client: TestClient) -> tuple[User, User, User, str]:
    alice, bob, room_id = await two_members(client)
    carol = await client.register("carol")
    (await client.join(carol, room_id)).ok()
    await client.sync(carol)
    return alice, bob, carol, room_id


async def test_woken_syncs_of_a_room_share_one_timeline_query(client: TestClient) -> None:
    alice, bob, carol, room_id = await three_members(client)
    server = server_of(client)
    since = (await client.sync(bob))["next_batch"]
    await client.send_text(alice, room_id, "hello")
    await settle()
    now = server.sync.current_token()
    with counting(server.storage.engine) as statements:
        syncs = await asyncio.gather(
            *(
                server.sync.compute(requester(user), StreamToken.parse(since), now, SyncFilter())
                for user in (bob, carol, bob, carol)
            )
        )
    # The initial sync read the room's window; the message joined it as it
    # committed, so the woken syncs need no timeline query at all.
    assert touching(statements, "events") == []
    for result in syncs:
        assert result.to_json()["rooms"]["join"][room_id]["timeline"]["events"][-1]["content"] == {
            "msgtype": "m.text",
            "body": "hello",
        }
    _, later = await woken_sync(client, carol, since)
    assert touching(later, "events") == []
    assert without_age(syncs[0].to_json()) == await from_database(
        client, bob, since, now, SyncFilter()
    )


async def test_timeline_from_memory_is_what_the_database_says(client: TestClient) -> None:
    alice, bob, carol, room_id = await three_members(client)
    since = (await client.sync(bob))["next_batch"]
    url = f"{V3}/rooms/{q(room_id)}/state/m.room.topic"
    (await client.put(url, json={"topic": "news"}, token=alice.access_token)).ok()
    for i in range(6):
        await client.send_text(alice if i % 2 else carol, room_id, f"m{i}")
    await settle()
    now = server_of(client).sync.current_token()
    limited = SyncFilter.parse({"room": {"timeline": {"limit": 3}}})
    only_messages = SyncFilter.parse({"room": {"timeline": {"types": ["m.room.message"]}}})
    for sync_filter in (SyncFilter(), limited, only_messages):
        # Loaded by one user's sync, then served to the others from memory.
        for user in (bob, alice, carol):
            served = await compute(client, user, since, now, sync_filter)
            assert served == await from_database(client, user, since, now, sync_filter)
    # The sender's own device sees its transaction id.
    mine = await compute(client, alice, since, now)
    own = [
        e
        for e in mine["rooms"]["join"][room_id]["timeline"]["events"]
        if e["sender"] == alice.user_id and e["type"] == "m.room.message"
    ]
    assert own and all("transaction_id" in e["unsigned"] for e in own)
    theirs = await compute(client, bob, since, now)
    assert all(
        "transaction_id" not in e.get("unsigned", {})
        for e in theirs["rooms"]["join"][room_id]["timeline"]["events"]
    )


async def test_redactions_reach_events_held_in_memory(client: TestClient) -> None:
    alice, bob, carol, room_id = await three_members(client)
    server = server_of(client)
    since = (await client.sync(bob))["next_batch"]
    event_id = await client.send_text(alice, room_id, "oops")
    await settle()
    before_redaction = server.sync.current_token()
    first = await compute(client, bob, since, before_redaction)
    assert first["rooms"]["join"][room_id]["timeline"]["events"][-1]["content"]["body"] == "oops"
    (
        await client.put(
            f"{V3}/rooms/{q(room_id)}/redact/{q(event_id)}/r1",
            json={},
            token=alice.access_token,
        )
    ).ok()
    await settle()
    # Up to the message only: served from memory, redacted like the database.
    again = await compute(client, carol, since, before_redaction)
    assert again["rooms"]["join"][room_id]["timeline"]["events"][-1]["content"] == {}
    assert again == await from_database(client, carol, since, before_redaction, SyncFilter())
    # Through the redaction.
    for user in (bob, carol):
        full = await compute(client, user, since)
        assert full == await from_database(
            client, user, since, server.sync.current_token(), SyncFilter()
        )


async def post_receipt(client: TestClient, user: User, room_id: str, kind: str, event: str) -> None:
    url = f"{V3}/rooms/{q(room_id)}/receipt/{kind}/{q(event)}"
    (await client.post(url, json={}, token=user.access_token)).ok()


async def test_unread_counts_are_read_only_when_the_users_receipt_moved(
    client: TestClient,
) -> None:
    alice, bob, carol, room_id = await three_members(client)
    server = server_of(client)
    since = (await client.sync(bob))["next_batch"]
    first = await client.send_text(alice, room_id, "one")
    second = await client.send_text(alice, room_id, "hey bob")
    await client.send_text(alice, room_id, "three")

    async def counts_now(since: str) -> tuple[dict[str, int], list[str], str]:
        sync, statements = await woken_sync(client, bob, since)
        room = sync["rooms"]["join"][room_id]
        truth = await server.storage.receipts.unread_counts(bob.user_id, [room_id])
        expected = truth.get(room_id)
        assert room["unread_notifications"] == {
            "notification_count": expected.notifications if expected else 0,
            "highlight_count": expected.highlights if expected else 0,
        }
        return (
            room["unread_notifications"],
            touching(statements, "event_push_actions"),
            sync["next_batch"],
        )

    counts, queried, since = await counts_now(since)
    # The warm-up message and these three, counted forward from the initial
    # sync's read as they committed.
    assert counts == {"notification_count": 4, "highlight_count": 1} and queried == []
    # Someone else's receipt: the room is in the sync, its counts unchanged.
    await post_receipt(client, carol, room_id, "m.read", second)
    counts, queried, since = await counts_now(since)
    assert counts == {"notification_count": 4, "highlight_count": 1} and queried == []
    # Bob's own receipts move his counts.
    await post_receipt(client, bob, room_id, "m.read.private", first)
    counts, queried, since = await counts_now(since)
    assert counts == {"notification_count": 2, "highlight_count": 1} and queried
    await post_receipt(client, bob, room_id, "m.read", second)
    counts, queried, since = await counts_now(since)
    assert counts == {"notification_count": 1, "highlight_count": 0} and queried
    # A new message counts, with no query.
    await client.send_text(carol, room_id, "four")
    counts, queried, since = await counts_now(since)
    assert counts == {"notification_count": 2, "highlight_count": 0} and queried == []


async def test_unread_counts_counted_forward_match_the_database_under_concurrent_sends(
    client: TestClient,
) -> None:
    alice, bob, carol, room_id = await three_members(client)
    server = server_of(client)
    since = (await client.sync(bob))["next_batch"]

    async def syncs_while_sending() -> None:
        for _ in range(10):
            await compute(client, bob, since)
            await asyncio.sleep(0)

    await asyncio.gather(
        *(client.send_text(alice if i % 2 else carol, room_id, f"m{i}") for i in range(40)),
        syncs_while_sending(),
    )
    await settle()
    # Concurrent reads may have missed commits; whatever they kept must agree.
    for _ in range(2):
        sync = await compute(client, bob, since)
        truth = (await server.storage.receipts.unread_counts(bob.user_id, [room_id]))[room_id]
        assert sync["rooms"]["join"][room_id]["unread_notifications"] == {
            "notification_count": truth.notifications,
            "highlight_count": truth.highlights,
        }
    assert truth.notifications >= 40


async def set_status(client: TestClient, user: User, message: str) -> None:
    url = f"{V3}/presence/{q(user.user_id)}/status"
    body = {"presence": "online", "status_msg": message}
    (await client.put(url, json=body, token=user.access_token)).ok()


async def test_a_presence_change_reaches_room_mates_only_with_no_membership_query(
    client: TestClient,
) -> None:
    alice, bob, _carol, _room_id = await three_members(client)
    dave = await client.register("dave")
    since = (await client.sync(bob))["next_batch"]
    await set_status(client, alice, "first")
    await set_status(client, dave, "first")
    sync, _ = await woken_sync(client, bob, since)
    since = sync["next_batch"]

    await set_status(client, alice, "second")
    await set_status(client, dave, "second")
    sync, statements = await woken_sync(client, bob, since)

    presence = {e["sender"]: e["content"] for e in sync["presence"]["events"]}
    assert presence[alice.user_id]["status_msg"] == "second"
    assert dave.user_id not in presence
    assert touching(statements, "memberships") == []


async def test_a_long_poll_coming_back_with_nothing_new_computes_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, _carol, room_id = await three_members(client)
    server = server_of(client)
    token = StreamToken.parse((await client.sync(bob))["next_batch"])
    await settle()
    token = (await server.sync.wait_for_sync(requester(bob), token, SyncFilter())).next_batch
    computed: list[StreamToken | None] = []
    real = server.sync._compute

    async def counted(user: Requester, since: StreamToken | None, *args: Any, **kwargs: Any) -> Any:
        computed.append(since)
        return await real(user, since, *args, **kwargs)

    monkeypatch.setattr(server.sync, "_compute", counted)

    with counting(server.storage.engine) as statements:
        quiet = await server.sync.wait_for_sync(requester(bob), token, SyncFilter(), timeout_ms=50)
    assert quiet.is_empty() and statements == [] and computed == []

    async def send_soon() -> None:
        await asyncio.sleep(0.05)
        await client.send_text(alice, room_id, "news")

    woken, _ = await asyncio.gather(
        server.sync.wait_for_sync(requester(bob), token, SyncFilter(), timeout_ms=5000),
        send_soon(),
    )
    timeline = woken.to_json()["rooms"]["join"][room_id]["timeline"]["events"]
    assert [e["content"].get("body") for e in timeline] == ["news"]
