"""The commit-time check of a cluster worker (`EventStore.persist_events`):
each event of a batch must have been built on the extremities its room has
when it comes, the database's first, then as the batch's earlier events leave
them. (Through real workers: tests/e2e/test_cluster.py.)"""

from __future__ import annotations

from typing import Any

from homeserver.storage.events import PendingEvent, _stale_rooms

ROOM = "!r:x"


def _event(event_id: str, prev: list[str], room: str = ROOM) -> dict[str, Any]:
    return {"event_id": event_id, "room_id": room, "type": "m.room.message", "prev_events": prev}


def _local(event_id: str, built_on: list[str], room: str = ROOM) -> PendingEvent:
    return PendingEvent(_event(event_id, built_on, room), 1, expected_extremities=tuple(built_on))


def test_a_chain_built_on_the_database_state_passes() -> None:
    batch = [_local("$a", ["$x"]), _local("$b", ["$a"]), _local("$c", ["$b"])]
    assert _stale_rooms(batch, {ROOM: {"$x"}}) == set()


def test_an_event_built_on_what_another_worker_replaced_is_stale() -> None:
    assert _stale_rooms([_local("$a", ["$x"])], {ROOM: {"$y"}}) == {ROOM}


def test_a_later_event_of_the_batch_built_beside_an_earlier_one_is_stale() -> None:
    # Both built on $x (the room was reloaded before $a committed): $b never saw $a.
    batch = [_local("$a", ["$x"]), _local("$b", ["$x"])]
    assert _stale_rooms(batch, {ROOM: {"$x"}}) == {ROOM}


def test_received_events_move_the_extremities_without_being_checked() -> None:
    received = PendingEvent(_event("$r", ["$x"]), 1)
    batch = [received, _local("$a", ["$r", "$z"])]
    assert _stale_rooms(batch, {ROOM: {"$x", "$z"}}) == set()


def test_rooms_without_checked_events_are_left_alone() -> None:
    other = _local("$o", ["$q"], room="!other:x")
    assert _stale_rooms([other], {ROOM: {"$x"}}) == set()
