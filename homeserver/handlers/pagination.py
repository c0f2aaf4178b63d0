"""GET /messages and /context: pages of a room's history a user may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from homeserver.handlers.filters import EventFilter
from homeserver.handlers.visibility import RoomView, Visibility
from homeserver.storage import Storage
from homeserver.storage.events import StoredEvent

MAX_SCANNED_BATCHES = 20
# How many times one page may ask other servers for older history.
MAX_BACKFILLS_PER_PAGE = 3
BACKFILL_AT_LEAST = 20


class RemoteHistory(Protocol):
    """The seam through which pagination asks other servers for a room's
    history from before this server joined it (federation's backfill)."""

    async def backfill(self, room_id: str, limit: int) -> int:
        """Fetches, checks and stores up to about `limit` events older than
        the oldest held, below every position held; how many were stored."""
        ...


@dataclass(frozen=True)
class Page:
    events: list[StoredEvent]
    # Where the next page starts, or None when the room's history is exhausted.
    next_position: int | None


class Pagination:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._visibility = Visibility(storage)
        self.remote: RemoteHistory | None = None

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
        `end` (inclusive). Each batch is one index range scan.

        Backwards with no `end`, when the history held runs out, older history
        is asked of other servers (`remote`) and the page goes on into it."""
        picked: list[StoredEvent] = []
        cursor = start
        backfills = 0
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
            if batch:
                cursor = self._after(batch[-1], backwards)
            if len(batch) < limit:
                if not backwards or end is not None or self.remote is None:
                    return Page(picked, None)
                if backfills == MAX_BACKFILLS_PER_PAGE:
                    return Page(picked, cursor)
                backfills += 1
                if not await self.remote.backfill(room_id, max(limit, BACKFILL_AT_LEAST)):
                    return Page(picked, None)
                # What came back may change who sees what (older settings).
                view = await self._visibility.room_view(room_id, view.user_id)
        return Page(picked, cursor)

    @staticmethod
    def _after(event: StoredEvent, backwards: bool) -> int:
        return event.stream_ordering - 1 if backwards else event.stream_ordering
