"""The parts of state resolution on their own: the state split, auth difference, power
of senders, the two orderings, iterative auth checks and rejected events. Ported from
Synapse's tests/state/test_v2.py where it has such cases."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.events.power_levels import INFINITE_POWER_LEVEL
from homeserver.events.room_versions import ROOM_V11, ROOM_V12, RoomVersion
from homeserver.events.state_res import resolve_state, separate
from homeserver.events.state_res.graph import AuthGraph, auth_difference
from homeserver.events.state_res.ordering import (
    _kahn,
    _sender_power,
    is_power_event,
    mainline_order,
    reverse_topological_power_order,
)

from .state_res_harness import ALICE, BOB, CHARLIE, JOIN

ROOM = "!room:example.com"


def ev(
    event_id: str,
    event_type: str,
    sender: str = ALICE,
    state_key: str | None = "",
    content: dict[str, Any] | None = None,
    auth: list[str] | None = None,
    ts: int = 0,
    prev: list[str] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id,
        "room_id": ROOM,
        "type": event_type,
        "sender": sender,
        "content": content or {},
        "auth_events": auth or [],
        "prev_events": prev or [],
        "origin_server_ts": ts,
        "depth": 1,
    }
    if state_key is not None:
        event["state_key"] = state_key
    return event


def by_id(*events: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {event["event_id"]: event for event in events}


# -- the unconflicted/conflicted split ---------------------------------------------------


def test_separate_counts_a_missing_key_as_conflicted() -> None:
    unconflicted, conflicted = separate(
        [{("a", ""): "$1", ("b", ""): "$2"}, {("a", ""): "$1", ("b", ""): "$3", ("c", ""): "$4"}]
    )
    assert unconflicted == {("a", ""): "$1"}
    assert conflicted == {("b", ""): {"$2", "$3"}, ("c", ""): {"$4"}}


def test_no_conflict_returns_the_state_as_it_is() -> None:
    state = {("m.room.create", ""): "$unknown"}
    assert resolve_state(ROOM_V11, [state, dict(state)], {}) == state


# -- auth difference (Synapse's AuthChainDifferenceTestCase graphs) ------------------------


def _chain_events(edges: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    return by_id(
        *(
            ev(f"${name}", "m.room.member", auth=[f"${a}" for a in auth])
            for name, auth in edges.items()
        )
    )


@pytest.mark.parametrize(
    ("edges", "state_sets", "expected"),
    [
        # C -> B -> A
        ({"A": [], "B": ["A"], "C": ["B"]}, [["A", "B"], ["C"]], {"C"}),
        # D -> C -> B -> A
        ({"A": [], "B": ["A"], "C": ["B"], "D": ["C"]}, [["A", "B"], ["C", "D"]], {"C", "D"}),
        # D -> C -> B -> A, E -> C and B
        (
            {"A": [], "B": ["A"], "C": ["B"], "D": ["C"], "E": ["C", "B"]},
            [["A", "B", "E"], ["C", "D"]],
            {"D", "E"},
        ),
    ],
)
def test_auth_difference(
    edges: dict[str, list[str]], state_sets: list[list[str]], expected: set[str]
) -> None:
    graph = AuthGraph(_chain_events(edges), ROOM_V11)
    states = [{(name.lower(), ""): f"${name}" for name in names} for names in state_sets]
    assert auth_difference(graph, states) == {f"${name}" for name in expected}


# -- power events and the sender's power --------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (ev("$p", "m.room.power_levels"), True),
        (ev("$j", "m.room.join_rules"), True),
        (ev("$c", "m.room.create"), True),
        (ev("$k", "m.room.member", ALICE, BOB, {"membership": "leave"}), True),
        (ev("$b", "m.room.member", ALICE, BOB, {"membership": "ban"}), True),
        (ev("$l", "m.room.member", BOB, BOB, {"membership": "leave"}), False),
        (ev("$i", "m.room.member", ALICE, BOB, {"membership": "invite"}), False),
        (ev("$t", "m.room.topic"), False),
        (ev("$m", "m.room.power_levels", state_key=None), False),
    ],
)
def test_is_power_event(event: dict[str, Any], expected: bool) -> None:
    assert is_power_event(event) is expected


def _power_room(room_version: RoomVersion) -> dict[str, dict[str, Any]]:
    create = ev("$create", "m.room.create", content={"room_version": room_version.identifier})
    member = ev("$ma", "m.room.member", ALICE, ALICE, JOIN, ["$create"])
    users = {BOB: 50} if room_version.creators_have_infinite_power else {ALICE: 100, BOB: 50}
    levels = ev(
        "$pl",
        "m.room.power_levels",
        content={"users": users, "users_default": 10},
        auth=["$create", "$ma"],
    )
    return by_id(create, member, levels)


@pytest.mark.parametrize(
    ("room_version", "with_power_levels", "expected"),
    [
        (ROOM_V11, True, {ALICE: 100, BOB: 50, CHARLIE: 10}),
        (ROOM_V11, False, {ALICE: 100, BOB: 0, CHARLIE: 0}),
        (ROOM_V12, True, {ALICE: INFINITE_POWER_LEVEL, BOB: 50, CHARLIE: 10}),
        (ROOM_V12, False, {ALICE: INFINITE_POWER_LEVEL, BOB: 0, CHARLIE: 0}),
    ],
)
def test_sender_power_comes_from_the_events_own_auth_events(
    room_version: RoomVersion, with_power_levels: bool, expected: dict[str, int]
) -> None:
    events = _power_room(room_version)
    auth = ["$create", "$ma", "$pl"] if with_power_levels else ["$create", "$ma"]
    for user, level in expected.items():
        events["$topic"] = ev("$topic", "m.room.topic", user, auth=auth)
        assert _sender_power(AuthGraph(events, ROOM_V11), events, "$topic") == level


# -- orderings ----------------------------------------------------------------------------


def test_kahn_takes_the_smallest_ready_event_first() -> None:
    # Synapse's LexicographicalTestCase: edges point at auth events.
    edges = {"l": {"o"}, "m": {"n", "o"}, "n": {"o"}, "o": set(), "p": {"o"}}
    assert _kahn(edges, lambda node: (0, 0, node)) == ["o", "l", "n", "m", "p"]


def test_reverse_topological_power_order_prefers_power_then_time_then_id() -> None:
    events = _power_room(ROOM_V11)
    for user, ts, name in (
        (BOB, 1, "$bob"),
        (ALICE, 5, "$alice"),
        (CHARLIE, 1, "$charlie2"),
        (CHARLIE, 1, "$charlie1"),
    ):
        events[name] = ev(name, "m.room.join_rules", user, auth=["$create", "$ma", "$pl"], ts=ts)
    power = ["$bob", "$alice", "$charlie1", "$charlie2"]
    order = reverse_topological_power_order(AuthGraph(events, ROOM_V11), events, power, set(power))
    assert order == ["$alice", "$bob", "$charlie1", "$charlie2"]


def test_reverse_topological_power_order_puts_auth_events_first() -> None:
    events = _power_room(ROOM_V11)
    # Bob's (power 50) join rules cite a power levels event sent later by a weaker sender.
    events["$pl2"] = ev("$pl2", "m.room.power_levels", CHARLIE, auth=["$create", "$pl"], ts=9)
    events["$jr"] = ev("$jr", "m.room.join_rules", ALICE, auth=["$create", "$pl2"], ts=1)
    full = {"$pl2", "$jr"}
    order = reverse_topological_power_order(AuthGraph(events, ROOM_V11), events, ["$jr"], full)
    assert order == ["$pl2", "$jr"]


def test_mainline_order() -> None:
    events = _power_room(ROOM_V11)
    events["$pl2"] = ev("$pl2", "m.room.power_levels", auth=["$create", "$pl"], ts=2)
    events["$pl3"] = ev("$pl3", "m.room.power_levels", auth=["$create", "$pl2"], ts=3)
    topics = {
        "$on_pl3": ["$pl3"],
        "$on_pl1_late": ["$pl"],
        "$on_pl1_early": ["$pl"],
        "$on_nothing": [],
        "$on_pl2": ["$pl2"],
    }
    for ts, (name, auth) in enumerate(topics.items()):
        events[name] = ev(name, "m.room.topic", auth=["$create", *auth], ts=10 - ts)
    graph = AuthGraph(events, ROOM_V11)
    order = mainline_order(graph, events, list(topics), "$pl3")
    assert order == ["$on_nothing", "$on_pl1_early", "$on_pl1_late", "$on_pl2", "$on_pl3"]


# -- iterative auth checks and rejected events ------------------------------------------


def _fork() -> tuple[dict[str, dict[str, Any]], list[dict[tuple[str, str], str]]]:
    """Synapse's SimpleParamStateTestCase: Bob and Charlie join a public room at once."""
    events = by_id(
        ev("$create", "m.room.create", content={"room_version": "11"}),
        ev("$ima", "m.room.member", ALICE, ALICE, JOIN, ["$create"], 1, ["$create"]),
        ev("$ijr", "m.room.join_rules", ALICE, "", {"join_rule": "public"}, ["$create", "$ima"], 2),
        ev("$imb", "m.room.member", BOB, BOB, JOIN, ["$create", "$ijr"], 3),
        ev("$imc", "m.room.member", CHARLIE, CHARLIE, JOIN, ["$create", "$ijr"], 4),
    )
    base = {
        ("m.room.create", ""): "$create",
        ("m.room.member", ALICE): "$ima",
        ("m.room.join_rules", ""): "$ijr",
    }
    at_bob = {**base, ("m.room.member", BOB): "$imb"}
    at_charlie = {**base, ("m.room.member", CHARLIE): "$imc"}
    return events, [at_bob, at_charlie]


def test_a_fork_of_two_joins_keeps_both() -> None:
    events, states = _fork()
    assert resolve_state(ROOM_V11, states, events) == {**states[0], **states[1]}


def test_rejected_events_are_not_used_as_auth_events() -> None:
    events, states = _fork()
    # With the join rules rejected, the joins have nothing to allow them.
    resolved = resolve_state(ROOM_V11, states, events, rejected={"$ijr"})
    assert ("m.room.member", BOB) not in resolved and ("m.room.member", CHARLIE) not in resolved


def test_events_missing_from_the_map_are_left_out() -> None:
    events, states = _fork()
    del events["$imc"]
    assert resolve_state(ROOM_V11, states, events) == states[0]


def test_resolution_is_deterministic_whatever_the_input_order() -> None:
    events, states = _fork()
    reordered = dict(reversed(list(events.items())))
    assert resolve_state(ROOM_V11, states, events) == resolve_state(
        ROOM_V11, states[::-1], reordered
    )
