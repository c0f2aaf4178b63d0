"""What other servers may read of our rooms: one event, the state at an event
(ids or full, with the auth chain), an event's auth chain, missing events and
backfill. Every read first checks that the asking server may see the room."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, cast

from federation.event_reads import ServerView, server_view
from federation.inbound_pdus import as_federation_pdu
from federation.room_access import check_server_may_see
from homeserver.errors import MatrixError, not_found
from homeserver.server import HomeServer
from homeserver.storage.events import StateKey, StoredEvent
from homeserver.util import now_ms

MAX_WALK: Final = 100
# How many events one walk back may pass through, seen or not.
MAX_WALKED: Final = 1000


class RoomReads:
    def __init__(self, homeserver: HomeServer) -> None:
        self._hs = homeserver

    def _wrap(self, pdus: list[dict[str, Any]]) -> dict[str, Any]:
        return {"origin": self._hs.server_name, "origin_server_ts": now_ms(), "pdus": pdus}

    async def _event_in_room(self, room_id: str | None, event_id: str) -> StoredEvent:
        stored = await self._hs.storage.events.get_event(event_id)
        if stored is None or (room_id is not None and stored.room_id != room_id):
            raise not_found("Event not found")
        return stored

    async def _state_before(self, room_id: str, event_id: str) -> dict[StateKey, str]:
        stored = await self._event_in_room(room_id, event_id)
        return await self._hs.room_state.state_ids_at(room_id, stored.stream_ordering - 1)

    async def auth_chain(self, event_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        chain: dict[str, dict[str, Any]] = {}
        frontier: set[str] = set()
        starts = await self._hs.storage.events.get_events(event_ids)
        for stored in starts.values():
            frontier.update(a for a in stored.event.get("auth_events", []) if isinstance(a, str))
        while frontier:
            found = await self._hs.storage.events.get_events(frontier)
            frontier = set()
            for auth_id, stored in found.items():
                chain[auth_id] = stored.event
                for next_id in stored.event.get("auth_events", []):
                    if isinstance(next_id, str) and next_id not in chain:
                        frontier.add(next_id)
        return chain

    async def state(self, origin: str, room_id: str, event_id: str) -> dict[str, Any]:
        await check_server_may_see(self._hs, room_id, origin)
        state = await self._state_before(room_id, event_id)
        events = await self._hs.storage.events.get_events(state.values())
        chain = await self.auth_chain(state.values())
        return {
            "pdus": [as_federation_pdu(e.event) for e in events.values()],
            "auth_chain": [as_federation_pdu(e) for e in chain.values()],
        }

    async def event_auth(self, origin: str, room_id: str, event_id: str) -> dict[str, Any]:
        await check_server_may_see(self._hs, room_id, origin)
        await self._event_in_room(room_id, event_id)
        chain = await self.auth_chain([event_id])
        return {"auth_chain": [as_federation_pdu(e) for e in chain.values()]}

    async def _walk_back(
        self,
        room_id: str,
        starts: list[str],
        stop: set[str],
        limit: int,
        min_depth: int,
        view: ServerView,
    ) -> list[dict[str, Any]]:
        """Events reached by following prev_events back from `starts` (not
        included), newest first, never past `stop`: up to `limit` of those the
        asking server may see (the walk goes on through the others, so that
        what it sees later is still found, up to `MAX_WALKED` events)."""
        found: dict[str, StoredEvent] = {}
        walked: set[str] = set()
        first = await self._hs.storage.events.get_events(starts)
        frontier = {
            p
            for stored in first.values()
            if stored.room_id == room_id
            for p in stored.event.get("prev_events", [])
            if isinstance(p, str)
        } - stop
        while frontier and len(found) < limit and len(walked) < MAX_WALKED:
            batch = await self._hs.storage.events.get_events(frontier)
            frontier = set()
            for event_id, stored in sorted(
                batch.items(), key=lambda item: -int(item[1].event["depth"])
            ):
                if stored.room_id != room_id or int(stored.event["depth"]) < min_depth:
                    continue
                if len(found) >= limit:
                    break
                walked.add(event_id)
                if view.can_see(stored):
                    found[event_id] = stored
                frontier.update(
                    p
                    for p in stored.event.get("prev_events", [])
                    if isinstance(p, str) and p not in walked and p not in stop
                )
        return [e.event for e in sorted(found.values(), key=lambda e: -int(e.event["depth"]))]

    async def missing_events(self, origin: str, room_id: str, body: Any) -> dict[str, Any]:
        await check_server_may_see(self._hs, room_id, origin)
        if not isinstance(body, dict):
            raise MatrixError(400, "M_BAD_JSON", "Expected a JSON object")
        latest, earliest = body.get("latest_events"), body.get("earliest_events", [])
        limit, min_depth = body.get("limit", 10), body.get("min_depth", 0)
        if not _string_list(latest) or not _string_list(earliest):
            raise MatrixError(400, "M_BAD_JSON", "latest_events and earliest_events: event ids")
        if not isinstance(limit, int) or not isinstance(min_depth, int):
            raise MatrixError(400, "M_BAD_JSON", "limit and min_depth must be integers")
        limit = max(0, min(limit, MAX_WALK))
        starts = cast(list[str], latest)
        view = await server_view(self._hs, room_id, origin)
        walked = await self._walk_back(room_id, starts, set(earliest), limit, min_depth, view)
        return {"events": [as_federation_pdu(e) for e in reversed(walked)]}

    async def backfill(
        self, origin: str, room_id: str, starts: list[str], limit: int
    ) -> dict[str, Any]:
        """The events `starts` and those before them, newest first: only
        those the asking server may see (its users could, under the room's
        history visibility at each event, or it was world readable)."""
        await check_server_may_see(self._hs, room_id, origin)
        limit = max(0, min(limit, MAX_WALK))
        view = await server_view(self._hs, room_id, origin)
        first = [
            stored.event
            for stored in (await self._hs.storage.events.get_events(starts)).values()
            if stored.room_id == room_id and view.can_see(stored)
        ][:limit]
        older = await self._walk_back(room_id, starts, set(), limit - len(first), 0, view)
        return self._wrap([as_federation_pdu(e) for e in [*first, *older]])


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
