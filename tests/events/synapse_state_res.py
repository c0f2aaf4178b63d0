"""Run by Synapse's Python (``.bench-venv``), not by pytest: reads random rooms as JSON
(see ``random_rooms.py``) on stdin, resolves each query with Synapse's state resolution,
and writes the event IDs Synapse computes and its answers as JSON on stdout."""

# mypy: disable-error-code="import-not-found,import-untyped,misc"
# (Synapse is installed in its own environment, not ours.)

import asyncio
import json
import sys
from typing import Any

import synapse.event_auth  # noqa: F401  (first: Synapse's modules import each other in a cycle)
from synapse.api.room_versions import KNOWN_ROOM_VERSIONS
from synapse.events import make_event_from_dict
from synapse.state.v2 import resolve_events_with_store
from synapse.storage.databases.main.event_federation import StateDifference


class _Clock:
    async def sleep(self, duration: Any) -> None:
        return None


class _Store:
    """Every event is handed over in the event map, as events not yet persisted; the
    store then has nothing to add."""

    def __init__(self, events: dict[str, Any]) -> None:
        self._events = events

    async def get_events(self, event_ids: Any, allow_rejected: bool = False) -> dict[str, Any]:
        return {
            event_id: self._events[event_id] for event_id in event_ids if event_id in self._events
        }

    async def get_auth_chain_difference(self, *args: Any) -> StateDifference:
        return StateDifference(auth_difference=set(), conflicted_subgraph=set())


async def _answer(room: dict[str, Any]) -> dict[str, Any]:
    room_version = KNOWN_ROOM_VERSIONS[room["room_version"]]
    events = {}
    for event in room["events"]:
        pdu = {key: value for key, value in event.items() if key != "event_id"}
        built = make_event_from_dict(pdu, room_version)
        events[built.event_id] = built
    answers = []
    for query in room["queries"]:
        state_sets = [{(t, k): e for t, k, e in rows} for rows in query["state_sets"]]
        resolved = await resolve_events_with_store(
            _Clock(), room["room_id"], room_version, state_sets, dict(events), _Store(events)
        )
        answers.append(sorted([t, k, e] for (t, k), e in resolved.items()))
    return {"event_ids": sorted(events), "answers": answers}


async def _main() -> None:
    rooms = json.load(sys.stdin)
    json.dump([await _answer(room) for room in rooms], sys.stdout)


if __name__ == "__main__":
    asyncio.run(_main())
