"""Stream positions, tokens and the notifier, without a server."""

from __future__ import annotations

import asyncio

import pytest

from homeserver.errors import MatrixError
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import StreamPositions
from homeserver.streams.tokens import StreamToken, page_token, parse_pagination_token


async def test_current_waits_for_earlier_positions() -> None:
    positions = StreamPositions(10)
    first = positions.allocate()
    second = positions.allocate()
    p11 = await first.__aenter__()
    p12 = await second.__aenter__()
    assert (p11, p12) == (11, 12)
    await second.__aexit__(None, None, None)
    assert positions.current == 10  # 11 is still being written
    await first.__aexit__(None, None, None)
    assert positions.current == 12


async def test_failed_write_still_advances() -> None:
    positions = StreamPositions(0)
    with pytest.raises(RuntimeError):
        async with positions.allocate():
            raise RuntimeError("boom")
    assert positions.current == 1


async def test_notifier_wakes_only_the_room() -> None:
    positions = StreamPositions(0)
    notifier = Notifier(positions)
    in_room = asyncio.create_task(notifier.wait("@a:x", ["!r:x"], StreamToken(), 5))
    elsewhere = asyncio.create_task(notifier.wait("@b:x", ["!other:x"], StreamToken(), 0.2))
    await asyncio.sleep(0)
    async with positions.allocate() as position:
        pass
    notifier.notify_room("!r:x", position)
    assert await in_room is True
    assert await elsewhere is False
    assert notifier.waiting_count() == 0


async def test_notifier_holds_news_until_readable() -> None:
    positions = StreamPositions(0)
    notifier = Notifier(positions)
    waiter = asyncio.create_task(notifier.wait("@a:x", ["!r:x"], StreamToken(), 5))
    await asyncio.sleep(0)
    slow = positions.allocate()
    await slow.__aenter__()  # position 1, still being written
    async with positions.allocate() as position:  # position 2 done first
        pass
    notifier.notify_room("!r:x", position)
    await asyncio.sleep(0.05)
    assert not waiter.done()  # readers can't see 2 before 1 is written
    await slow.__aexit__(None, None, None)
    assert await waiter is True


async def test_notifier_returns_at_once_when_already_newer() -> None:
    positions = StreamPositions(0)
    notifier = Notifier(positions)
    async with positions.allocate() as position:
        pass
    notifier.notify_users(["@a:x"], position)
    assert await notifier.wait("@a:x", [], StreamToken(), 5) is True


def test_tokens_round_trip_and_reject_garbage() -> None:
    token = StreamToken(events=42, typing=3, presence=8, to_device=40)
    assert StreamToken.parse(token.serialize()) == token
    assert StreamToken.parse("s7") == StreamToken(events=7)
    # Tokens from before the to-device field still parse; newer fields are ignored.
    assert StreamToken.parse("s7_1_99") == StreamToken(7, 1, 99)
    assert StreamToken.parse("s7_1_99_5_6") == StreamToken(7, 1, 99, 5)
    assert parse_pagination_token(page_token(5)) == 5
    assert parse_pagination_token("s9_0") == 9
    for bad in ("", "x1", "s", "s-1", "p", "s1_", "s" + "9" * 30):
        with pytest.raises(MatrixError):
            StreamToken.parse(bad)


async def test_notifier_knows_what_changed_since_it_started() -> None:
    positions = StreamPositions(100)
    notifier = Notifier(positions)
    assert notifier.knows_since(100) and not notifier.knows_since(99)
    async with positions.allocate() as in_room:
        pass
    notifier.notify_room("!a:x", in_room, extra_users=["@invited:x"])
    async with positions.allocate() as for_user:
        pass
    notifier.notify_users(["@b:x"], for_user)
    assert notifier.rooms_changed_since(["!a:x", "!b:x"], 100) == {"!a:x"}
    assert notifier.rooms_changed_since(["!a:x"], in_room) == set()
    assert notifier.user_changed_since("@b:x", in_room)
    assert notifier.user_changed_since("@invited:x", 100)
    assert not notifier.user_changed_since("@b:x", for_user)
    assert not notifier.user_changed_since("@c:x", 100)


async def test_notifier_tells_receipts_from_events() -> None:
    positions = StreamPositions(0)
    notifier = Notifier(positions)
    waiter = asyncio.create_task(notifier.wait("@b:x", ["!a:x"], StreamToken(), 5))
    await asyncio.sleep(0)
    slow = positions.allocate()
    event_position = await slow.__aenter__()
    async with positions.allocate() as receipt_position:
        pass
    notifier.notify_receipt("!a:x", "@a:x", receipt_position, private=False)
    # Not readable yet (the event before it is still being written).
    assert notifier.rooms_with_receipts_since(["!a:x"], 0) == set()
    assert notifier.user_receipt_position("@a:x") == 0
    await slow.__aexit__(None, None, None)
    notifier.notify_room("!a:x", event_position)
    assert await waiter is True
    assert notifier.rooms_with_receipts_since(["!a:x", "!b:x"], 0) == {"!a:x"}
    assert notifier.rooms_with_receipts_since(["!a:x"], receipt_position) == set()
    assert notifier.room_event_position("!a:x") == event_position
    assert notifier.user_receipt_position("@a:x") == receipt_position
    assert notifier.rooms_changed_since(["!a:x"], event_position) == {"!a:x"}

    async with positions.allocate() as private_position:
        pass
    notifier.notify_receipt("!a:x", "@a:x", private_position, private=True)
    assert notifier.rooms_with_receipts_since(["!a:x"], receipt_position) == set()
    assert notifier.user_changed_since("@a:x", receipt_position)
    assert notifier.user_position("@a:x") == private_position
    assert notifier.user_receipt_position("@a:x") == private_position


async def test_notifier_is_settled_only_when_everything_readable_was_announced() -> None:
    positions = StreamPositions(0)
    notifier = Notifier(positions)
    assert notifier.settled()
    # An event sender announces a moment after the commit made it readable.
    committed = positions.reserve()
    positions.finish(committed)
    assert not notifier.settled() and not notifier.settled(committed)
    assert notifier.settled(committed - 1)
    notifier.notify_room("!a:x", committed)
    assert notifier.settled()
    # Announced before it is readable: settled as it becomes readable.
    slow = positions.reserve()
    early = positions.reserve()
    positions.finish(early)
    notifier.notify_room("!a:x", early)
    positions.finish(slow)
    assert not notifier.settled()  # `slow` failed, say: never announced
    notifier._unannounced[slow] -= 3600
    assert notifier.settled()


async def test_an_abandoned_position_does_not_unsettle_the_notifier() -> None:
    positions = StreamPositions(0)
    notifier = Notifier(positions)
    failed = positions.reserve()
    committed = positions.reserve()
    notifier.abandoned(failed)  # its write failed before it was readable
    positions.finish(failed)
    positions.finish(committed)
    notifier.notify_room("!a:x", committed)
    assert notifier.settled()
    assert notifier.knows_since(0)
    # Abandoned once readable already: settled at once too.
    late = positions.reserve()
    positions.finish(late)
    assert not notifier.settled()
    notifier.abandoned(late)
    assert notifier.settled()


async def test_unannounced_positions_expire_into_not_vouching_for_the_past() -> None:
    positions = StreamPositions(0)
    notifier = Notifier(positions)
    lost = positions.reserve()
    positions.finish(lost)  # readable, and its announcement never comes
    notifier._unannounced[lost] -= 3600
    assert notifier.settled()
    assert not notifier.knows_since(lost - 1)
    assert notifier.knows_since(lost)


async def test_remote_announcements_are_not_relayed_again() -> None:
    positions = StreamPositions(0)
    notifier = Notifier(positions)
    relayed: list[tuple[str, dict[str, object]]] = []
    notifier.relay = lambda kind, payload: relayed.append((kind, payload))
    position = positions.reserve()
    positions.finish(position)
    notifier.announce_remote("room", {"room_id": "!a:x", "position": position, "users": ["@b:x"]})
    assert relayed == []
    assert notifier.room_event_position("!a:x") == position
    assert notifier.user_position("@b:x") == position
    notifier.notify_users(["@c:x"], position)
    assert relayed == [("users", {"users": ["@c:x"], "position": position})]


async def test_a_sweep_wakes_waiters_for_a_missed_announcement() -> None:
    positions = StreamPositions(0)
    notifier = Notifier(positions)
    waiting = asyncio.create_task(notifier.wait("@a:x", ["!a:x"], StreamToken(), 30))
    await asyncio.sleep(0)
    lost = positions.reserve()
    positions.finish(lost)  # readable; its announcement never comes
    notifier.sweep(60)
    await asyncio.sleep(0)
    assert not waiting.done()  # not missed yet
    notifier._unannounced[lost] -= 120
    notifier.sweep(60)
    assert await asyncio.wait_for(waiting, 1)
    assert notifier.settled() and not notifier.knows_since(lost - 1)
