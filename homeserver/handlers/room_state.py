"""Room state at any stream position: the current state with later changes
unwound. Each state event records which event it replaced, so the cost is the
number of state changes after the position, not the size of the room."""

from __future__ import annotations

from homeserver.storage import Storage
from homeserver.storage.events import StateKey, StoredEvent


class RoomState:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def state_ids_at(self, room_id: str, position: int) -> dict[StateKey, str]:
        """State after every event with a stream position <= `position`."""
        state = await self._storage.events.get_current_state_ids(room_id)
        changes = await self._storage.events.get_state_changes(room_id, after=position)
        for change in reversed(changes):
            if state.get(change.key) != change.event_id:
                continue
            if change.replaces is None:
                del state[change.key]
            else:
                state[change.key] = change.replaces
        return state

    async def state_at(self, room_id: str, position: int) -> dict[StateKey, StoredEvent]:
        ids = await self.state_ids_at(room_id, position)
        found = await self._storage.events.get_events(ids.values())
        return {key: found[event_id] for key, event_id in ids.items() if event_id in found}

    async def current_state(self, room_id: str) -> dict[StateKey, StoredEvent]:
        return await self._storage.events.get_current_state(room_id)
