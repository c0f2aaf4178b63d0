"""The two orderings of state resolution v2: reverse topological power ordering (for
power events) and mainline ordering (for the rest)."""

import heapq
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from homeserver.events.power_levels import get_user_power_level
from homeserver.events.state_res.graph import AuthGraph, EventMap

__all__ = [
    "is_power_event",
    "mainline_order",
    "reverse_topological_power_order",
]

_POWER_LEVELS = ("m.room.power_levels", "")


def is_power_event(event: Mapping[str, Any]) -> bool:
    """Power levels, join rules, and kicks and bans (a leave or ban by someone else).

    The create event counts too, as in Synapse and other implementations; it is only
    ever conflicted when state sets from different rooms are mixed up.
    """
    state_key = event.get("state_key")
    if state_key is None:
        return False
    key = (event.get("type"), state_key)
    if key in (_POWER_LEVELS, ("m.room.join_rules", ""), ("m.room.create", "")):
        return True
    if event.get("type") != "m.room.member":
        return False
    content = event.get("content")
    membership = content.get("membership") if isinstance(content, Mapping) else None
    return membership in ("leave", "ban") and event.get("sender") != state_key


def _auth_events_by_key(
    graph: AuthGraph, events: EventMap, event_id: str
) -> dict[tuple[str, str], Mapping[str, Any]]:
    by_key: dict[tuple[str, str], Mapping[str, Any]] = {}
    for auth_id in graph.edges(event_id):
        auth_event = events.get(auth_id)
        if auth_event is not None and isinstance(auth_event.get("state_key"), str):
            by_key[(str(auth_event.get("type")), auth_event["state_key"])] = auth_event
    return by_key


def _sender_power(graph: AuthGraph, events: EventMap, event_id: str) -> int:
    """The sender's power level according to the event's own auth events."""
    sender = events[event_id].get("sender")
    if not isinstance(sender, str):
        return 0
    return get_user_power_level(sender, _auth_events_by_key(graph, events, event_id))


def _timestamp(event: Mapping[str, Any]) -> int:
    ts = event.get("origin_server_ts")
    return ts if isinstance(ts, int) and not isinstance(ts, bool) else 0


def reverse_topological_power_order(
    graph: AuthGraph,
    events: EventMap,
    power_events: Iterable[str],
    full_conflicted_set: Collection[str],
) -> list[str]:
    """The power events, with the events of the full conflicted set that their auth
    chains reach through it, earliest first.

    Kahn's algorithm over their auth edges, taking among the ready events the one whose
    sender has the greatest power, then the earliest ``origin_server_ts``, then the
    smallest event ID.
    """
    edges: dict[str, set[str]] = {}
    stack = list(power_events)
    while stack:
        event_id = stack.pop()
        if event_id in edges:
            continue
        inside = {edge for edge in graph.edges(event_id) if edge in full_conflicted_set}
        edges[event_id] = inside
        stack.extend(edge for edge in inside if edge not in edges)

    def key(event_id: str) -> tuple[int, int, str]:
        power = _sender_power(graph, events, event_id)
        return (-power, _timestamp(events[event_id]), event_id)

    return _kahn(edges, key)


def _kahn(edges: dict[str, set[str]], key: Callable[[str], tuple[int, int, str]]) -> list[str]:
    """Topological order, auth events first, ties broken by the smallest ``key``."""
    waiting_on = {event_id: set(targets) for event_id, targets in edges.items()}
    cited_by: dict[str, set[str]] = {event_id: set() for event_id in edges}
    for event_id, targets in edges.items():
        for target in targets:
            cited_by[target].add(event_id)
    ready = [(key(event_id), event_id) for event_id, targets in waiting_on.items() if not targets]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, event_id = heapq.heappop(ready)
        order.append(event_id)
        for citer in cited_by[event_id]:
            waiting_on[citer].discard(event_id)
            if not waiting_on[citer]:
                heapq.heappush(ready, (key(citer), citer))
    return order


def _power_levels_auth_event(graph: AuthGraph, events: EventMap, event_id: str) -> str | None:
    for auth_id in graph.edges(event_id):
        auth_event = events.get(auth_id)
        if (
            auth_event is not None
            and (
                auth_event.get("type"),
                auth_event.get("state_key"),
            )
            == _POWER_LEVELS
        ):
            return auth_id
    return None


def mainline_order(
    graph: AuthGraph, events: EventMap, event_ids: Iterable[str], power_levels_id: str | None
) -> list[str]:
    """``event_ids`` in mainline ordering based on the power levels event given.

    The mainline is that event, the power levels event among its auth events, and so on.
    Each event sorts by the mainline event its own chain of power levels auth events
    reaches first: events based on an older power levels event come first (those based
    on none before all), then by ``origin_server_ts``, then by event ID.
    """
    mainline: list[str] = []
    current = power_levels_id
    while current is not None and current not in mainline:
        mainline.append(current)
        current = _power_levels_auth_event(graph, events, current)
    depth_of = {event_id: len(mainline) - index for index, event_id in enumerate(mainline)}

    def mainline_depth(event_id: str) -> int:
        seen: set[str] = set()
        current: str | None = event_id
        while current is not None and current not in seen:
            depth = depth_of.get(current)
            if depth is not None:
                return depth
            seen.add(current)
            current = _power_levels_auth_event(graph, events, current)
        return 0

    keys = {
        event_id: (mainline_depth(event_id), _timestamp(events[event_id]), event_id)
        for event_id in event_ids
    }
    return sorted(keys, key=keys.__getitem__)
