"""GET /messages and /context: pages of a room's history a user may see."""

from __future__ import annotations

from dataclasses import dataclass

from homeserver.handlers.filters import EventFilter
from homeserver.handlers.visibility import RoomView
from homeserver.storage import Storage
from homeserver.storage.events import StoredEvent

MAX_SCANNED_BATCHES = 20


@dataclass(frozen=True)
class Page:
    events: list[StoredEvent]
    # Where the next page starts, or None when the room's history is exhausted.
    next_position: int | None


class Pagination:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def page(
        self,
        room_id: str,
        view: RoomView,
        *,
        start: int,
        backwards: bool,
        limit: int,
        end: int | None,
        event_filter: EventFilter,
    ) -> Page:
        """Up to `limit` visible events from `start` in one direction.

        Backwards: events at or before `start` (newest first), stopping after
        `end` (exclusive). Forwards: events after `start` (oldest first), up to
        `end` (inclusive). Each batch is one index range scan."""
        picked: list[StoredEvent] = []
        cursor = start
        for _ in range(MAX_SCANNED_BATCHES):
            if backwards:
                batch = await self._storage.events.get_room_events(
                    room_id, after=end, upto=cursor, limit=limit, newest_first=True
                )
            else:
                batch = await self._storage.events.get_room_events(
                    room_id, after=cursor, upto=end, limit=limit, newest_first=False
                )
            for event in batch:
                if view.can_see(event) and event_filter.allows_type_and_sender(
                    event.type, event.event.get("sender")
                ):
                    picked.append(event)
                    if len(picked) == limit:
                        return Page(picked, self._after(event, backwards))
            if len(batch) < limit:
                return Page(picked, None)
            cursor = self._after(batch[-1], backwards)
        return Page(picked, cursor)

    @staticmethod
    def _after(event: StoredEvent, backwards: bool) -> int:
        return event.stream_ordering - 1 if backwards else event.stream_ordering
