"""State resolution v2 (room version 11) and v2.1 (room version 12) as one pure function."""

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from homeserver.events.auth_rules import check_auth
from homeserver.events.auth_selection import auth_types_for_event
from homeserver.events.errors import AuthError
from homeserver.events.room_versions import RoomVersion
from homeserver.events.state_res.graph import (
    AuthGraph,
    EventMap,
    StateIds,
    auth_difference,
    conflicted_subgraph,
)
from homeserver.events.state_res.ordering import (
    is_power_event,
    mainline_order,
    reverse_topological_power_order,
)

__all__ = ["resolve_state", "separate"]

_CREATE = ("m.room.create", "")


def separate(
    state_sets: Sequence[StateIds],
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], set[str]]]:
    """The unconflicted state map, and the conflicted event IDs by key.

    A key is unconflicted when every state set has it with the same event; a key that
    some state sets lack is conflicted.
    """
    unconflicted: dict[tuple[str, str], str] = {}
    conflicted: dict[tuple[str, str], set[str]] = {}
    keys = {key for state in state_sets for key in state}
    for key in keys:
        values = {state.get(key) for state in state_sets}
        present = {value for value in values if value is not None}
        if len(values) == 1 and present:
            unconflicted[key] = present.pop()
        else:
            conflicted[key] = present
    return unconflicted, conflicted


def resolve_state(
    room_version: RoomVersion,
    state_sets: Sequence[StateIds],
    events: EventMap,
    *,
    rejected: Collection[str] = frozenset(),
) -> dict[tuple[str, str], str]:
    """Merge ``state_sets`` into one room state, deterministically.

    Args:
        room_version: the room's version (12 resolves with the v2.1 changes).
        state_sets: the states to merge, ``(type, state_key)`` to event ID.
        events: every event of the state sets and of their auth chains, by event ID.
            Events missing from it are left out of the resolution (as other
            implementations do), so supply them all for a result servers agree on.
        rejected: IDs of events rejected on receipt; they are never used as auth events.
            They still take part in the algorithm otherwise, as the spec says.
    """
    unconflicted, conflicted = separate(state_sets)
    if not conflicted:
        return unconflicted
    graph = AuthGraph(events, room_version)
    conflicted_ids = {event_id for ids in conflicted.values() for event_id in ids}
    full_conflicted = conflicted_ids | auth_difference(graph, state_sets)
    if room_version.state_res_v2_1:
        full_conflicted |= conflicted_subgraph(graph, conflicted_ids)
    full_conflicted = {event_id for event_id in full_conflicted if event_id in events}

    power = [event_id for event_id in full_conflicted if is_power_event(events[event_id])]
    sorted_power = reverse_topological_power_order(graph, events, power, full_conflicted)
    base: dict[tuple[str, str], str] = {} if room_version.state_res_v2_1 else dict(unconflicted)
    checks = _IterativeAuthChecks(room_version, graph, events, rejected)
    partial = checks.apply(base, sorted_power)

    picked = set(sorted_power)
    remaining = [event_id for event_id in full_conflicted if event_id not in picked]
    power_levels_id = partial.get(("m.room.power_levels", ""))
    ordered = mainline_order(graph, events, remaining, power_levels_id)
    resolved = checks.apply(partial, ordered)
    resolved.update(unconflicted)
    return resolved


class _IterativeAuthChecks:
    def __init__(
        self,
        room_version: RoomVersion,
        graph: AuthGraph,
        events: EventMap,
        rejected: Collection[str],
    ) -> None:
        self._room_version = room_version
        self._graph = graph
        self._events = events
        self._rejected = rejected

    def apply(
        self, state: Mapping[tuple[str, str], str], event_ids: Iterable[str]
    ) -> dict[tuple[str, str], str]:
        """Each event in turn joins the state if the auth rules allow it against the
        state so far, falling back to its own auth events for keys the state lacks."""
        resolved = dict(state)
        for event_id in event_ids:
            event = self._events[event_id]
            state_key = event.get("state_key")
            if not isinstance(state_key, str):
                continue
            try:
                check_auth(event, self._auth_state(event_id, event, resolved), self._room_version)
            except AuthError:
                continue
            resolved[(str(event.get("type")), state_key)] = event_id
        return resolved

    def _auth_state(
        self, event_id: str, event: Mapping[str, Any], resolved: Mapping[tuple[str, str], str]
    ) -> dict[tuple[str, str], Mapping[str, Any]]:
        auth_state: dict[tuple[str, str], Mapping[str, Any]] = {}
        for auth_id in self._graph.edges(event_id):
            auth_event = self._usable(auth_id)
            if auth_event is not None and isinstance(auth_event.get("state_key"), str):
                auth_state[(str(auth_event.get("type")), auth_event["state_key"])] = auth_event
        for key in (_CREATE, *auth_types_for_event(event, self._room_version)):
            resolved_id = resolved.get(key)
            resolved_event = self._usable(resolved_id) if resolved_id is not None else None
            if resolved_event is not None:
                auth_state[key] = resolved_event
        return auth_state

    def _usable(self, event_id: str) -> Mapping[str, Any] | None:
        return None if event_id in self._rejected else self._events.get(event_id)
