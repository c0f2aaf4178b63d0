"""The auth graph as state resolution sees it: auth events, auth chains, the auth
difference and (room version 12) the conflicted state subgraph."""

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from homeserver.events.room_ids import create_event_id_for_room
from homeserver.events.room_versions import RoomVersion

__all__ = [
    "AuthGraph",
    "EventMap",
    "StateIds",
    "auth_difference",
    "auth_event_ids",
    "conflicted_subgraph",
]

EventMap = Mapping[str, Mapping[str, Any]]
"""Events by ID: every event of the state sets and of their auth chains."""

StateIds = Mapping[tuple[str, str], str]
"""A room state: ``(type, state_key)`` to event ID."""


def auth_event_ids(event: Mapping[str, Any], room_version: RoomVersion) -> list[str]:
    """The event's auth events. From room version 12 the create event is never listed
    but is implied by the room ID, so it is added here (except for the create event)."""
    listed = event.get("auth_events")
    ids = [item for item in listed if isinstance(item, str)] if isinstance(listed, list) else []
    room_id = event.get("room_id")
    if room_version.room_id_is_create_event_hash and isinstance(room_id, str):
        create_id = create_event_id_for_room(room_id)
        if create_id not in ids:
            ids.append(create_id)
    return ids


class AuthGraph:
    """Walks ``auth_events`` edges over an event map, remembering each event's edges.

    Events missing from the map are leaves: they belong to chains by ID but lead nowhere.
    """

    def __init__(self, events: EventMap, room_version: RoomVersion) -> None:
        self._events = events
        self._room_version = room_version
        self._edges: dict[str, list[str]] = {}

    def edges(self, event_id: str) -> list[str]:
        edges = self._edges.get(event_id)
        if edges is None:
            event = self._events.get(event_id)
            edges = [] if event is None else auth_event_ids(event, self._room_version)
            self._edges[event_id] = edges
        return edges

    def reachable(self, starts: Iterable[str]) -> set[str]:
        """The given events and every event their auth chains contain."""
        seen: set[str] = set()
        stack = list(starts)
        while stack:
            event_id = stack.pop()
            if event_id in seen:
                continue
            seen.add(event_id)
            stack.extend(edge for edge in self.edges(event_id) if edge not in seen)
        return seen


def auth_difference(graph: AuthGraph, state_sets: Sequence[StateIds]) -> set[str]:
    """Events in some but not all of the state sets' full auth chains.

    Each full auth chain counts the state events themselves as well as their auth
    chains, as Synapse and other implementations do.
    """
    chains = [graph.reachable(state.values()) for state in state_sets]
    if not chains:
        return set()
    union, common = set(chains[0]), set(chains[0])
    for chain in chains[1:]:
        union |= chain
        common &= chain
    return union - common


def conflicted_subgraph(graph: AuthGraph, conflicted: Collection[str]) -> set[str]:
    """Every event on an auth-events path from one conflicted event to another (room
    version 12), the conflicted events included."""
    below = graph.reachable(conflicted)
    leads_to_conflict: dict[str, bool] = {}
    for start in below:
        _mark_paths_to(graph, start, set(conflicted), below, leads_to_conflict)
    return {event_id for event_id in below if leads_to_conflict[event_id]}


def _mark_paths_to(
    graph: AuthGraph,
    start: str,
    targets: set[str],
    within: set[str],
    memo: dict[str, bool],
) -> None:
    """Whether an auth path leads from each event below ``start`` to a target, iteratively
    (auth chains can be far deeper than Python's recursion limit). Reference hashes make
    cycles impossible; an edge back into the walk is ignored all the same."""
    if start in memo:
        return
    visiting: set[str] = set()
    stack: list[tuple[str, bool]] = [(start, False)]
    while stack:
        event_id, expanded = stack.pop()
        if event_id in memo:
            continue
        edges = [edge for edge in graph.edges(event_id) if edge in within]
        if not expanded:
            if event_id in visiting:
                continue
            visiting.add(event_id)
            stack.append((event_id, True))
            stack.extend(
                (edge, False) for edge in edges if edge not in memo and edge not in visiting
            )
            continue
        memo[event_id] = event_id in targets or any(memo.get(edge, False) for edge in edges)
