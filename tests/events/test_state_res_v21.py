"""State resolution v2.1 (room version 12): Synapse's tests/state/test_v21.py cases.

Room version 12 starts the iterative auth checks from an empty state and replays the
conflicted state subgraph, which closes two state resets that room version 11 allows.
Events here have real reference-hash IDs and no listed create event (the room ID implies
it), as in a room version 12 room.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from homeserver.events import compute_reference_hash_event_id
from homeserver.events.room_ids import room_id_for_create_event
from homeserver.events.room_versions import ROOM_V12
from homeserver.events.state_res import resolve_state
from homeserver.events.state_res.graph import AuthGraph, auth_difference, conflicted_subgraph
from homeserver.events.state_res.resolve import _IterativeAuthChecks, separate

from .state_res_harness import ALICE, BOB, CHARLIE, EVELYN, JOIN, ZARA

LEAVE = {"membership": "leave"}

_clock = itertools.count(1)


class Room:
    """Events of one room version 12 room, built with explicit auth events."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self._names: dict[str, str] = {}
        create = self._event("m.room.create", "", ALICE, {"room_version": "12"}, [], [], None)
        self.create = create["event_id"]
        self.room_id = room_id_for_create_event(create)

    def add(
        self,
        event_type: str,
        state_key: str,
        sender: str,
        content: dict[str, Any],
        auth_events: list[str],
        prev_events: list[str] | None = None,
    ) -> str:
        event = self._event(
            event_type, state_key, sender, content, auth_events, prev_events or [], self.room_id
        )
        return str(event["event_id"])

    def name(self, **named: str) -> None:
        self._names.update(named)

    def named(self) -> dict[str, str]:
        return dict(self._names)

    def _event(
        self,
        event_type: str,
        state_key: str,
        sender: str,
        content: dict[str, Any],
        auth_events: list[str],
        prev_events: list[str],
        room_id: str | None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": event_type,
            "state_key": state_key,
            "sender": sender,
            "content": content,
            "depth": 5,
            "prev_events": prev_events,
            "auth_events": auth_events,
            "origin_server_ts": next(_clock),
            "hashes": {},
        }
        if room_id is not None:
            event["room_id"] = room_id
        event["event_id"] = compute_reference_hash_event_id(event)
        self.events[event["event_id"]] = event
        return event


def _member(user_id: str) -> tuple[str, str]:
    return ("m.room.member", user_id)


PL, JR, CREATE = ("m.room.power_levels", ""), ("m.room.join_rules", ""), ("m.room.create", "")


def replay_conflicted_subgraph() -> tuple[Room, list[dict[Any, str]], dict[Any, str]]:
    """Eve renames herself citing old power levels directly but new ones indirectly; a
    state after her rename holding the old power levels must not reset the room."""
    room = Room()
    ma = room.add("m.room.member", ALICE, ALICE, JOIN, [], [room.create])
    power1 = room.add("m.room.power_levels", "", ALICE, {"users": {}}, [ma])
    jr = room.add("m.room.join_rules", "", ALICE, {"join_rule": "public"}, [ma, power1])
    mb = room.add("m.room.member", BOB, BOB, JOIN, [power1, jr])
    mc = room.add("m.room.member", CHARLIE, CHARLIE, JOIN, [power1, jr])
    power2 = room.add("m.room.power_levels", "", ALICE, {"users": {BOB: 50}}, [ma, power1])
    power3 = room.add(
        "m.room.power_levels", "", BOB, {"users": {BOB: 50, CHARLIE: 50}}, [mb, power2]
    )
    me1 = room.add("m.room.member", EVELYN, EVELYN, JOIN, [power3, jr])
    me2 = room.add("m.room.member", EVELYN, EVELYN, JOIN, [power1, jr, me1])
    mz = room.add("m.room.member", ZARA, ZARA, JOIN, [power3, jr])
    room.name(ma=ma, power1=power1, jr=jr, mb=mb, power2=power2, power3=power3)
    common = {CREATE: room.create, _member(ALICE): ma, _member(BOB): mb, _member(CHARLIE): mc}
    dodgy = {**common, _member(EVELYN): me2, PL: power1, JR: jr}
    sensible = {**common, _member(ZARA): mz, PL: power3, JR: jr}
    # ME2 replays first (in the power 1 epoch), then ME1 (in the power 3 epoch).
    expected = {**common, _member(EVELYN): me1, _member(ZARA): mz, PL: power3, JR: jr}
    return room, [dodgy, sensible], expected


def start_from_empty_state() -> tuple[Room, list[dict[Any, str]], dict[Any, str]]:
    """Conflicting join rules whose senders' memberships are unconflicted leaves: starting
    from the unconflicted state would drop both join rules."""
    room = Room()
    ma1 = room.add("m.room.member", ALICE, ALICE, JOIN, [])
    power = room.add("m.room.power_levels", "", ALICE, {"users": {BOB: 100}}, [ma1])
    jr1 = room.add("m.room.join_rules", "", ALICE, {"join_rule": "public"}, [ma1, power])
    mb = room.add("m.room.member", BOB, BOB, JOIN, [power, jr1])
    jr2 = room.add("m.room.join_rules", "", ALICE, {"join_rule": "invite"}, [ma1, power])
    ma2 = room.add("m.room.member", ALICE, ALICE, LEAVE, [power, ma1])
    common = {CREATE: room.create, _member(ALICE): ma2, _member(BOB): mb, PL: power}
    correct = {**common, JR: jr2}
    incorrect = {**common, JR: jr1}  # e.g. from a server giving a stale fork
    return room, [correct, incorrect], {**common, JR: jr2}


CASES = {
    "replay_conflicted_subgraph": replay_conflicted_subgraph,
    "start_from_empty_state": start_from_empty_state,
}


@pytest.mark.parametrize("name", CASES)
def test_room_version_12_resolves(name: str) -> None:
    room, state_sets, expected = CASES[name]()
    assert resolve_state(ROOM_V12, state_sets, room.events) == expected
    # The order of the state sets does not matter.
    assert resolve_state(ROOM_V12, state_sets[::-1], room.events) == expected


@pytest.mark.parametrize("name", CASES)
def test_create_event_never_in_the_full_conflicted_set(name: str) -> None:
    room, state_sets, _ = CASES[name]()
    graph = AuthGraph(room.events, ROOM_V12)
    _, conflicted = separate(state_sets)
    conflicted_ids = {event_id for ids in conflicted.values() for event_id in ids}
    full = auth_difference(graph, state_sets) | conflicted_subgraph(graph, conflicted_ids)
    assert room.create not in full
    assert conflicted_ids <= full


def test_conflicted_subgraph_is_the_paths_between_conflicted_events() -> None:
    room, state_sets, _ = replay_conflicted_subgraph()
    graph = AuthGraph(room.events, ROOM_V12)
    _, conflicted = separate(state_sets)
    conflicted_ids = {event_id for ids in conflicted.values() for event_id in ids}
    subgraph = conflicted_subgraph(graph, conflicted_ids)
    named = room.named()
    # power 3 -> Bob's join -> power 1, power 3 -> power 2 -> power 1, and Eve's rename
    # -> the join rules -> power 1.
    between = {named[name] for name in ("power1", "power2", "power3", "mb", "jr")}
    assert between <= subgraph
    # Alice's join leads only to the create event: it lies on no such path.
    assert named["ma"] not in subgraph
    assert subgraph <= graph.reachable(conflicted_ids)


def test_starting_from_the_unconflicted_state_loses_the_join_rules() -> None:
    """Why v2.1 starts from an empty state: Alice has left in the unconflicted state, so
    against it neither join rule passes; from their own auth events, the newer one wins."""
    room, state_sets, _ = start_from_empty_state()
    unconflicted, _ = separate(state_sets)
    checks = _IterativeAuthChecks(ROOM_V12, AuthGraph(room.events, ROOM_V12), room.events, ())
    jr1, jr2 = state_sets[1][JR], state_sets[0][JR]
    assert JR not in checks.apply(unconflicted, [jr1, jr2])
    assert checks.apply({}, [jr1, jr2])[JR] == jr2
