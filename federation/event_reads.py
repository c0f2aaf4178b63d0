"""Events and room state read by other servers (`/event/{eventId}`,
`/state_ids/{roomId}`), each checked against what the asking server may see.

A server sees an event when the room was world-readable at it, or when one
of its users could see it under the room's history visibility (joined at the
event; `shared`: joined at any point after; `invited`: invited at it). State
is served only to servers with a user joined to the room now. Events the
server may not see are "not found", as unknown ones are."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

from federation.server_acl import check_room_allows
from homeserver.errors import MatrixError, forbidden, not_found
from homeserver.events.room_ids import room_id_of
from homeserver.handlers.visibility import RoomView
from homeserver.server import HomeServer
from homeserver.storage.events import StoredEvent

MAX_AUTH_CHAIN: Final = 10_000


def _server_of(user_id: str) -> str:
    return user_id.partition(":")[2]


def as_pdu(event: dict[str, Any]) -> dict[str, Any]:
    """The event as it goes over federation: room versions 3+ carry no
    `event_id` (it is the reference hash), and `unsigned` is ours alone."""
    return {k: v for k, v in event.items() if k not in ("event_id", "unsigned")}


@dataclass(frozen=True)
class ServerView:
    """What one server may see of a room: what any of its users may see
    (one view per user that has a membership in the room), or anything
    world-readable at the event."""

    views: list[RoomView]

    def can_see(self, event: StoredEvent) -> bool:
        return any(view.can_see(event) for view in self.views)


async def server_view(homeserver: HomeServer, room_id: str, server: str) -> ServerView:
    members = await homeserver.storage.events.get_room_members(room_id)
    user_ids = [m.user_id for m in members if _server_of(m.user_id) == server]
    # A user with no membership at all: sees only what is world readable.
    return ServerView(await homeserver.visibility.member_views(room_id, [*user_ids, f"@:{server}"]))


class EventReads:
    def __init__(self, homeserver: HomeServer) -> None:
        self._hs = homeserver
        self._storage = homeserver.storage

    async def _server_can_see(self, server: str, event: StoredEvent) -> bool:
        view = await server_view(self._hs, str(room_id_of(event.event)), server)
        return view.can_see(event)

    async def event(self, origin: str, event_id: str) -> dict[str, Any]:
        stored = await self._storage.events.get_event(event_id)
        if stored is None or not await self._server_can_see(origin, stored):
            raise not_found(f"Could not find event {event_id}")
        await check_room_allows(self._hs, str(room_id_of(stored.event)), origin)
        return {
            "origin": self._hs.server_name,
            "origin_server_ts": int(time.time() * 1000),
            "pdus": [as_pdu(stored.event)],
        }

    async def state_ids(self, origin: str, room_id: str, event_id: str) -> dict[str, Any]:
        await check_room_allows(self._hs, room_id, origin)
        joined = await self._storage.events.get_room_members(room_id, ("join",))
        if not any(_server_of(m.user_id) == origin for m in joined):
            raise forbidden("Your server is not in this room")
        stored = await self._storage.events.get_event(event_id)
        if stored is None or room_id_of(stored.event) != room_id:
            raise not_found(f"Could not find event {event_id}")
        # The state before the event: in a room built on this server the
        # stream order is a topological order of its DAG.
        state = await self._hs.room_state.state_ids_at(room_id, stored.stream_ordering - 1)
        pdu_ids = sorted(state.values())
        return {"pdu_ids": pdu_ids, "auth_chain_ids": await self._auth_chain(pdu_ids)}

    async def _auth_chain(self, event_ids: list[str]) -> list[str]:
        """Every event reachable from `event_ids` through `auth_events`."""
        chain: set[str] = set()
        frontier = set(event_ids)
        while frontier:
            found = await self._storage.events.get_events(frontier)
            frontier = set()
            for stored in found.values():
                for auth_id in stored.event.get("auth_events", []):
                    if isinstance(auth_id, str) and auth_id not in chain:
                        chain.add(auth_id)
                        frontier.add(auth_id)
            if len(chain) > MAX_AUTH_CHAIN:
                raise MatrixError(500, "M_UNKNOWN", "Auth chain too large to serve")
        return sorted(chain)
