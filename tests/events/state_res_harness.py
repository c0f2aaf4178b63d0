"""A harness for table-driven state resolution tests.

A case is a set of named events and chains of ``prev_events`` edges, as in Synapse's
``tests/state/test_v2.py``. The harness walks the DAG from the oldest event, computes the
state before each event (resolving the states after its prev events when there are
several), gives each event the auth events the auth events selection picks from that
state, and returns the state at the end.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from homeserver.events import auth_types_for_event
from homeserver.events.room_versions import RoomVersion
from homeserver.events.state_res import resolve_state

ALICE = "@alice:example.com"
BOB = "@bob:example.com"
CHARLIE = "@charlie:example.com"
EVELYN = "@evelyn:example.com"
ZARA = "@zara:example.com"

JOIN = {"membership": "join"}
BAN = {"membership": "ban"}

StateIds = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Node:
    """An event of a case, named by its node ID (its event ID is ``$<id>:example.com``)."""

    id: str
    sender: str
    type: str
    state_key: str | None = None
    content: Mapping[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return event_id(self.id)


def event_id(node_id: str) -> str:
    return f"${node_id}:example.com"


def room_id_for(room_version: RoomVersion) -> str:
    # From room version 12 the room ID is the create event's ID with a ``!``.
    return (
        "!CREATE:example.com" if room_version.room_id_is_create_event_hash else "!room:example.com"
    )


def initial_nodes(room_version: RoomVersion) -> list[Node]:
    """The start of every graph: Alice creates a public room; Bob, Charlie, Zara join."""
    alice_power: dict[str, int] = {} if room_version.creators_have_infinite_power else {ALICE: 100}
    return [
        Node("CREATE", ALICE, "m.room.create", "", {"room_version": room_version.identifier}),
        Node("IMA", ALICE, "m.room.member", ALICE, JOIN),
        Node("IPOWER", ALICE, "m.room.power_levels", "", {"users": alice_power}),
        Node("IJR", ALICE, "m.room.join_rules", "", {"join_rule": "public"}),
        Node("IMB", BOB, "m.room.member", BOB, JOIN),
        Node("IMC", CHARLIE, "m.room.member", CHARLIE, JOIN),
        Node("IMZ", ZARA, "m.room.member", ZARA, JOIN),
        Node("START", ZARA, "m.room.message"),
        Node("END", ZARA, "m.room.message"),
    ]


INITIAL_EDGES = ["START", "IMZ", "IMC", "IMB", "IJR", "IPOWER", "IMA", "CREATE"]


def _pairs(chain: Sequence[str]) -> Iterable[tuple[str, str]]:
    return itertools.pairwise(chain)


def _oldest_first(prevs: Mapping[str, set[str]]) -> list[str]:
    """Topological order of the DAG, parents first, ties by node ID."""
    waiting = {node: set(parents) for node, parents in prevs.items()}
    children: dict[str, set[str]] = {node: set() for node in prevs}
    for node, parents in prevs.items():
        for parent in parents:
            children[parent].add(node)
    ready = [node for node, parents in waiting.items() if not parents]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for child in children[node]:
            waiting[child].discard(node)
            if not waiting[child]:
                heapq.heappush(ready, child)
    return order


@dataclass
class Resolution:
    events: dict[str, dict[str, Any]]
    state_at: dict[str, StateIds]

    def changed_since_start(self, keep: Iterable[tuple[str, str]] = ()) -> StateIds:
        start, end = self.state_at["START"], self.state_at["END"]
        kept = set(keep)
        return {key: value for key, value in end.items() if key in kept or start.get(key) != value}


def run_graph(
    room_version: RoomVersion, nodes: Sequence[Node], edges: Sequence[Sequence[str]]
) -> Resolution:
    """Build the case's events on the initial graph and compute the state at each."""
    all_nodes = {node.id: node for node in itertools.chain(initial_nodes(room_version), nodes)}
    prevs: dict[str, set[str]] = {node_id: set() for node_id in all_nodes}
    for chain in (INITIAL_EDGES, *edges):
        for child, parent in _pairs(chain):
            prevs[child].add(parent)
    room_id = room_id_for(room_version)
    events: dict[str, dict[str, Any]] = {}
    state_at: dict[str, StateIds] = {}
    for timestamp, node_id in enumerate(_oldest_first(prevs)):
        node = all_nodes[node_id]
        parents = sorted(prevs[node_id])
        if not parents:
            before: StateIds = {}
        elif len(parents) == 1:
            before = dict(state_at[parents[0]])
        else:
            before = resolve_state(room_version, [state_at[p] for p in parents], events)
        event = _event(node, room_id, timestamp, [event_id(p) for p in parents])
        keys = auth_types_for_event(event, room_version)
        event["auth_events"] = [before[key] for key in keys if key in before]
        events[node.event_id] = event
        after = dict(before)
        if node.state_key is not None:
            after[(node.type, node.state_key)] = node.event_id
        state_at[node_id] = after
    return Resolution(events, state_at)


def _event(node: Node, room_id: str, timestamp: int, prev_events: list[str]) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": node.event_id,
        "type": node.type,
        "sender": node.sender,
        "content": dict(node.content),
        "origin_server_ts": timestamp,
        "prev_events": prev_events,
        "auth_events": [],
        "depth": 1,
    }
    if node.type != "m.room.create" or not room_id.startswith("!CREATE"):
        event["room_id"] = room_id
    if node.state_key is not None:
        event["state_key"] = node.state_key
    return event


def expected_state(resolution: Resolution, node_ids: Iterable[str]) -> StateIds:
    expected: StateIds = {}
    for node_id in node_ids:
        event = resolution.events[event_id(node_id)]
        expected[(event["type"], event["state_key"])] = event["event_id"]
    return expected
