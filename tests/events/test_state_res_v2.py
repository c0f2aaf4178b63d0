"""State resolution v2: the cases of the spec's examples and Synapse's tests/state/test_v2.py.

Each case is a table: events, chains of prev_events edges, and the state at END that
differs from the state at START (plus the keys named). The same cases run in room
version 11 and, where the creator's power does not change the outcome, room version 12.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from homeserver.events.room_versions import ROOM_V11, ROOM_V12, RoomVersion

from .state_res_harness import (
    ALICE,
    BAN,
    BOB,
    CHARLIE,
    EVELYN,
    JOIN,
    ZARA,
    Node,
    expected_state,
    run_graph,
)


@dataclass(frozen=True)
class Case:
    name: str
    nodes: list[Node]
    edges: list[list[str]]
    expected: list[str]


def _users(room_version: RoomVersion, **levels: int) -> dict[str, int]:
    """A power levels ``users`` map; room version 12 may not list Alice, the creator."""
    names = {"alice": ALICE, "bob": BOB, "charlie": CHARLIE}
    users = {names[name]: level for name, level in levels.items()}
    if room_version.creators_have_infinite_power:
        users.pop(ALICE, None)
    return users


def cases(v: RoomVersion) -> list[Case]:
    def pl(node_id: str, sender: str, **levels: int) -> Node:
        return Node(node_id, sender, "m.room.power_levels", "", {"users": _users(v, **levels)})

    def topic(node_id: str, sender: str) -> Node:
        return Node(node_id, sender, "m.room.topic", "", {})

    return [
        Case(
            "ban_vs_power_levels",
            [
                pl("PA", ALICE, alice=100, bob=50),
                Node("MA", ALICE, "m.room.member", ALICE, JOIN),
                Node("MB", ALICE, "m.room.member", BOB, BAN),
                pl("PB", BOB, alice=100, bob=50),
            ],
            [["END", "MB", "MA", "PA", "START"], ["END", "PB", "PA"]],
            ["PA", "MA", "MB"],
        ),
        Case(
            "join_rule_evasion",
            [
                # "join_rules" (sic) as in the original case: the join rule falls back to invite.
                Node("JR", ALICE, "m.room.join_rules", "", {"join_rules": "private"}),
                Node("ME", EVELYN, "m.room.member", EVELYN, JOIN),
            ],
            [["END", "JR", "START"], ["END", "ME", "START"]],
            ["JR"],
        ),
        Case(
            "offtopic_power_levels",
            [
                pl("PA", ALICE, alice=100, bob=50),
                pl("PB", BOB, alice=100, bob=50, charlie=50),
                pl("PC", CHARLIE, alice=100, bob=50, charlie=0),
            ],
            [["END", "PC", "PB", "PA", "START"], ["END", "PA"]],
            ["PC"],
        ),
        Case(
            "topic_basic",
            [
                topic("T1", ALICE),
                pl("PA1", ALICE, alice=100, bob=50),
                topic("T2", ALICE),
                pl("PA2", ALICE, alice=100, bob=0),
                pl("PB", BOB, alice=100, bob=50),
                topic("T3", BOB),
            ],
            [["END", "PA2", "T2", "PA1", "T1", "START"], ["END", "T3", "PB", "PA1"]],
            ["PA2", "T2"],
        ),
        Case(
            "topic_reset",
            [
                topic("T1", ALICE),
                pl("PA", ALICE, alice=100, bob=50),
                topic("T2", BOB),
                Node("MB", ALICE, "m.room.member", BOB, BAN),
            ],
            [["END", "MB", "T2", "PA", "T1", "START"], ["END", "T1"]],
            ["T1", "MB", "PA"],
        ),
        Case(
            "topic",
            [
                topic("T1", ALICE),
                pl("PA1", ALICE, alice=100, bob=50),
                topic("T2", ALICE),
                pl("PA2", ALICE, alice=100, bob=0),
                pl("PB", BOB, alice=100, bob=50),
                topic("T3", BOB),
                Node("MZ1", ZARA, "m.room.message"),
                topic("T4", ALICE),
            ],
            [
                ["END", "T4", "MZ1", "PA2", "T2", "PA1", "T1", "START"],
                ["END", "MZ1", "T3", "PB", "PA1"],
            ],
            ["T4", "PA2"],
        ),
        Case(
            # T3 wins: the other topics cite older power levels. Without mainline
            # ordering T4 would win, being sent after T3.
            "mainline_sort",
            [
                topic("T1", ALICE),
                pl("PA1", ALICE, alice=100, bob=50),
                topic("T2", ALICE),
                Node(
                    "PA2",
                    ALICE,
                    "m.room.power_levels",
                    "",
                    {"users": _users(v, alice=100, bob=50), "events": {"m.room.power_levels": 100}},
                ),
                pl("PB", BOB, alice=100, bob=50),
                topic("T3", BOB),
                topic("T4", ALICE),
            ],
            [["END", "T3", "PA2", "T2", "PA1", "T1", "START"], ["END", "T4", "PB", "PA1"]],
            ["T3", "PA2"],
        ),
    ]


def _ids(room_version: RoomVersion) -> list[str]:
    return [case.name for case in cases(room_version)]


@pytest.mark.parametrize("index", range(len(cases(ROOM_V11))), ids=_ids(ROOM_V11))
def test_room_version_11(index: int) -> None:
    case = cases(ROOM_V11)[index]
    resolution = run_graph(ROOM_V11, case.nodes, case.edges)
    expected = expected_state(resolution, case.expected)
    assert resolution.changed_since_start(expected) == expected


@pytest.mark.parametrize("index", range(len(cases(ROOM_V12))), ids=_ids(ROOM_V12))
def test_room_version_12(index: int) -> None:
    case = cases(ROOM_V12)[index]
    resolution = run_graph(ROOM_V12, case.nodes, case.edges)
    expected = expected_state(resolution, case.expected)
    assert resolution.changed_since_start(expected) == expected
