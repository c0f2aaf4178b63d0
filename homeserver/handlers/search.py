"""Server-side search (POST /search, category room_events).

Searched are the rooms the user is or was in (joined, left, banned; not
forgotten), and within each only the positions its history visibility lets
them see (`RoomView.visible_ranges`): a user who joined later does not find
what was said before they could see it, one who left finds nothing after. The
database applies those ranges together with the full-text match, so a page
costs one indexed query whatever the rooms' sizes, and pages never come back
short for lack of visible results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from homeserver.events.search_text import SEARCH_KEYS, highlights, searchable_text
from homeserver.handlers.filters import EventFilter
from homeserver.handlers.pagination import Pagination
from homeserver.handlers.room_state import RoomState
from homeserver.handlers.search_context import SearchContext
from homeserver.handlers.search_request import RoomEventsCriteria, SearchToken
from homeserver.handlers.serialize import EventSerializer
from homeserver.handlers.visibility import RoomView, Visibility
from homeserver.storage import Storage
from homeserver.storage.events import StoredEvent
from homeserver.storage.search import SearchCursor, SearchHit, SearchQuery, VisibleRange
from homeserver.streams.positions import Positions

SEARCHED_MEMBERSHIPS = ("join", "leave", "ban")


@dataclass(frozen=True)
class _Scope:
    views: dict[str, RoomView]
    ranges: list[VisibleRange]


class Search:
    def __init__(
        self,
        storage: Storage,
        positions: Positions,
        visibility: Visibility,
        pagination: Pagination,
        room_state: RoomState,
        serializer: EventSerializer,
    ) -> None:
        self._storage = storage
        self._positions = positions
        self._visibility = visibility
        self._pagination = pagination
        self._room_state = room_state
        self._serializer = serializer

    async def room_events(
        self,
        user_id: str,
        device_id: str | None,
        criteria: RoomEventsCriteria,
        token: SearchToken | None,
    ) -> dict[str, Any]:
        """The `room_events` result category. `token` (from next_batch) is
        meant to come from the same search; any token names a position to go
        on from (in rank order its rank and stream ordering, by time the
        stream ordering)."""
        event_filter = criteria.event_filter
        senders = event_filter.senders
        if token is not None and token.scope is not None:
            key, value = token.scope
            if key == "room_id":
                event_filter = replace(
                    event_filter,
                    rooms=[value] if event_filter.allows_room(value) else [],
                )
            else:
                senders = [value] if senders is None or value in senders else []
        upto = token.upto if token is not None else self._positions.current
        scope = await self._scope(user_id, event_filter)
        keys = [
            k for k in criteria.keys if event_filter.allows_type_and_sender(SEARCH_KEYS[k], None)
        ]
        page = await self._storage.search.search(
            SearchQuery(
                term=criteria.search_term,
                keys=keys,
                ranges=scope.ranges,
                upto=upto,
                limit=criteria.page_size,
                by_rank=criteria.by_rank,
                after=None
                if token is None
                else SearchCursor(token.stream_ordering, token.rank if criteria.by_rank else None),
                senders=senders,
                not_senders=event_filter.not_senders,
            )
        )
        found = await self._storage.events.get_events(h.event_id for h in page.hits)
        hits = [
            (hit, found[hit.event_id])
            for hit in page.hits
            if hit.event_id in found and found[hit.event_id].redacted_by is None
        ]
        serialized = await self._serializer.serialize(
            [event for _, event in hits], user_id=user_id, device_id=device_id
        )
        results = [
            {"rank": hit.rank, "result": e} for (hit, _), e in zip(hits, serialized, strict=True)
        ]
        if criteria.context is not None:
            context = SearchContext(
                self._storage, self._pagination, self._serializer, user_id, device_id
            )
            for result, (_, event) in zip(results, hits, strict=True):
                result["context"] = await context.around(
                    event, scope.views[event.room_id], scope.ranges, criteria.context, upto
                )
        texts = [text[1] for _, e in hits if (text := searchable_text(e.event)) is not None]
        body: dict[str, Any] = {
            "results": results,
            "count": page.count,
            "highlights": highlights(criteria.search_term, texts),
        }
        next_token = None
        if page.more and page.hits:
            last = page.hits[-1]
            next_token = SearchToken(
                upto=upto,
                stream_ordering=last.stream_ordering,
                rank=last.rank,
                scope=token.scope if token is not None else None,
            )
            body["next_batch"] = next_token.serialize()
        if criteria.group_by:
            body["groups"] = _groups(criteria.group_by, hits, next_token)
        if criteria.include_state:
            body["state"] = await self._state(
                {e.room_id for _, e in hits}, scope.views, user_id, device_id
            )
        return body

    async def _scope(self, user_id: str, event_filter: EventFilter) -> _Scope:
        rooms = await self._storage.events.get_rooms_for_user(user_id, SEARCHED_MEMBERSHIPS)
        room_ids = [r.room_id for r in rooms if event_filter.allows_room(r.room_id)]
        views = await self._visibility.room_views(room_ids, user_id)
        ranges = [
            VisibleRange(room_id, lo, hi)
            for room_id, view in views.items()
            for lo, hi in view.visible_ranges()
        ]
        return _Scope(views, ranges)

    async def _state(
        self,
        room_ids: set[str],
        views: dict[str, RoomView],
        user_id: str,
        device_id: str | None,
    ) -> dict[str, list[dict[str, Any]]]:
        """The state of each room of the results: current while the user is
        joined, as it was when they left otherwise."""
        state: dict[str, list[dict[str, Any]]] = {}
        for room_id in sorted(room_ids):
            stop = views[room_id].last_visible_position()
            events = (
                await self._room_state.current_state(room_id)
                if stop is None
                else await self._room_state.state_at(room_id, stop)
            )
            ordered = sorted(events.values(), key=lambda e: e.stream_ordering)
            state[room_id] = await self._serializer.serialize(
                ordered, user_id=user_id, device_id=device_id
            )
        return state


def _groups(
    group_by: Sequence[str],
    hits: Sequence[tuple[SearchHit, StoredEvent]],
    next_token: SearchToken | None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """The page's results partitioned by room or sender. While more results
    follow, each group gets a next_batch of its own, narrowed to it."""
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for key in group_by:
        by_value: dict[str, dict[str, Any]] = {}
        for _, event in hits:
            value = str(event.room_id if key == "room_id" else event.event["sender"])
            group = by_value.setdefault(value, {"results": [], "order": len(by_value) + 1})
            group["results"].append(event.event_id)
        if next_token is not None:
            for value, group in by_value.items():
                group["next_batch"] = replace(next_token, scope=(key, value)).serialize()
        groups[key] = by_value
    return groups
