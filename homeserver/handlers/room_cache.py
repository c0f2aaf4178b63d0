"""Each active room's current state and forward extremities, in memory, so that
sending an event costs no reads: the event sender (the rooms' only writer in
this process, under its per-room lock) keeps it current as it builds each
event, before the event is committed (see `event_persister.py`). A room with
events still on their way to the database is never evicted, and a room whose
chain of events failed to persist is dropped, to be reloaded from the database.

With several workers (handlers/cluster.py) a room is forgotten when another
worker announces an event of it, and an event built on stale state is refused
at commit (`EventStore.persist_events` checks the room's extremities under a
per-room lock) and built again."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from homeserver.storage import Storage
from homeserver.storage.events import StateKey

DEFAULT_MAX_ROOMS = 1000


@dataclass
class CachedRoom:
    state: dict[StateKey, dict[str, Any]] = field(default_factory=dict)
    extremities: list[tuple[str, int]] = field(default_factory=list)
    # Events built on this state that are not committed yet.
    in_flight: int = 0
    _joined: dict[str, dict[str, Any]] | None = None

    def joined_members(self) -> dict[str, dict[str, Any]]:
        """The m.room.member content of each joined user (do not modify)."""
        if self._joined is None:
            self._joined = {
                state_key: event["content"]
                for (event_type, state_key), event in self.state.items()
                if event_type == "m.room.member" and event["content"].get("membership") == "join"
            }
        return self._joined

    def set_state(self, key: StateKey, event: dict[str, Any]) -> None:
        self.state[key] = event
        if key[0] == "m.room.member":
            self._joined = None


class RoomCache:
    def __init__(self, storage: Storage, max_rooms: int = DEFAULT_MAX_ROOMS) -> None:
        self._storage = storage
        self._max_rooms = max_rooms
        self._rooms: OrderedDict[str, CachedRoom] = OrderedDict()

    async def get(self, room_id: str) -> CachedRoom | None:
        """The room, loaded on first use; None when it does not exist."""
        room = self._rooms.get(room_id)
        if room is not None:
            self._rooms.move_to_end(room_id)
            return room
        stored = await self._storage.events.get_current_state(room_id)
        if not stored:
            return None
        room = CachedRoom(
            state={key: event.event for key, event in stored.items()},
            extremities=await self._storage.events.get_forward_extremities(room_id),
        )
        self._put(room_id, room)
        return room

    def new_room(self, room_id: str) -> CachedRoom:
        room = CachedRoom()
        self._put(room_id, room)
        return room

    def peek(self, room_id: str) -> CachedRoom | None:
        return self._rooms.get(room_id)

    def apply(
        self, room: CachedRoom, event: dict[str, Any], redacted: dict[str, Any] | None = None
    ) -> None:
        """`event` is now the room's only forward extremity (and, if it is a state
        event, part of its current state); `redacted` is the redacted form of
        the event a redaction targeted, which replaces it if it is current state."""
        state_key = event.get("state_key")
        if state_key is not None:
            room.set_state((event["type"], state_key), event)
        if redacted is not None and redacted.get("state_key") is not None:
            key = (redacted["type"], redacted["state_key"])
            current = room.state.get(key)
            if current is not None and current["event_id"] == redacted["event_id"]:
                room.set_state(key, redacted)
        room.extremities = [(event["event_id"], int(event["depth"]))]

    def apply_received(
        self,
        room: CachedRoom,
        event: dict[str, Any],
        redacted: dict[str, Any] | None,
        *,
        extremity: bool,
        updates_state: bool = True,
    ) -> None:
        """Like `apply` for an event another server built: it replaces only
        the extremities it builds on (the room's DAG may have several), and
        leaves the current state alone if `updates_state` is False."""
        extremities = room.extremities
        if updates_state:
            self.apply(room, event, redacted)
        if not extremity:
            room.extremities = extremities
            return
        prev = set(event.get("prev_events", []))
        kept = [pair for pair in extremities if pair[0] not in prev]
        room.extremities = [*kept, (event["event_id"], int(event["depth"]))]

    def forget(self, room_id: str) -> None:
        self._rooms.pop(room_id, None)

    def clear(self) -> None:
        self._rooms.clear()

    def _put(self, room_id: str, room: CachedRoom) -> None:
        self._rooms[room_id] = room
        excess = len(self._rooms) - self._max_rooms
        if excess > 0:
            idle = [key for key, cached in self._rooms.items() if cached.in_flight == 0]
            for key in idle[:excess]:
                del self._rooms[key]
