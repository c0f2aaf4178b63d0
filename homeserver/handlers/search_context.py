"""The `context` of a search result: the events around it that the user may
see, pagination tokens for going on from there, and the senders' profiles
as they were at the result."""

from __future__ import annotations

from typing import Any

from homeserver.handlers.filters import EventFilter
from homeserver.handlers.pagination import Pagination
from homeserver.handlers.search_request import EventContext
from homeserver.handlers.serialize import EventSerializer
from homeserver.handlers.visibility import RoomView
from homeserver.storage import Storage
from homeserver.storage.events import StateValue, StoredEvent
from homeserver.storage.search import VisibleRange
from homeserver.streams.tokens import page_token

_ALL = EventFilter()


def _bounds(
    ranges: list[VisibleRange], room_id: str, position: int, upto: int
) -> tuple[int | None, int]:
    """Where the visible stretch around `position` ends on either side (for
    pagination: after `lo`, up to `hi`), so that the pages stop there rather
    than read on through what the user may not see. The far end is the leave
    itself, which the user does see."""
    lo: int | None = None
    hi = upto
    for r in ranges:
        if r.room_id != room_id:
            continue
        if (r.lo is None or r.lo <= position) and (r.hi is None or position < r.hi):
            lo = None if r.lo is None else r.lo - 1
            hi = upto if r.hi is None else min(upto, r.hi)
    return lo, hi


class SearchContext:
    """One per search request: profiles looked up are kept for its results."""

    def __init__(
        self,
        storage: Storage,
        pagination: Pagination,
        serializer: EventSerializer,
        user_id: str,
        device_id: str | None,
    ) -> None:
        self._storage = storage
        self._pagination = pagination
        self._serializer = serializer
        self._user_id = user_id
        self._device_id = device_id
        self._member_histories: dict[tuple[str, str], list[StateValue]] = {}

    async def around(
        self,
        event: StoredEvent,
        view: RoomView,
        ranges: list[VisibleRange],
        limits: EventContext,
        upto: int,
    ) -> dict[str, Any]:
        position = event.stream_ordering
        lo, hi = _bounds(ranges, event.room_id, position, upto)
        before: list[StoredEvent] = []
        after: list[StoredEvent] = []
        if limits.before_limit:
            page = await self._pagination.page(
                event.room_id,
                view,
                start=position - 1,
                backwards=True,
                limit=limits.before_limit,
                end=lo,
                event_filter=_ALL,
            )
            before = page.events
        if limits.after_limit and hi > position:
            page = await self._pagination.page(
                event.room_id,
                view,
                start=position,
                backwards=False,
                limit=limits.after_limit,
                end=hi,
                event_filter=_ALL,
            )
            after = page.events
        context: dict[str, Any] = {
            "events_before": await self._serialize(before),
            "events_after": await self._serialize(after),
            "start": page_token(before[-1].stream_ordering - 1 if before else position - 1),
            "end": page_token(after[-1].stream_ordering if after else position),
        }
        if limits.include_profile:
            senders = {str(e.event["sender"]) for e in (event, *before, *after)}
            context["profile_info"] = {
                sender: await self._profile_at(event.room_id, sender, position)
                for sender in sorted(senders)
            }
        return context

    async def _serialize(self, events: list[StoredEvent]) -> list[dict[str, Any]]:
        return await self._serializer.serialize(
            events, user_id=self._user_id, device_id=self._device_id
        )

    async def _profile_at(self, room_id: str, user_id: str, position: int) -> dict[str, Any]:
        """The display name and avatar of the user's membership in the room
        at `position` (the historic profile, as the spec asks)."""
        key = (room_id, user_id)
        history = self._member_histories.get(key)
        if history is None:
            history = await self._storage.events.get_state_history(
                room_id, "m.room.member", user_id
            )
            self._member_histories[key] = history
        earlier = [value.content for value in history if value.position <= position]
        content = earlier[-1] if earlier else {}
        profile: dict[str, Any] = {}
        if isinstance(content.get("displayname"), str):
            profile["displayname"] = content["displayname"]
        avatar = content.get("avatar_url")
        if isinstance(avatar, str) and avatar.startswith("mxc://"):
            profile["avatar_url"] = avatar
        return profile
