"""The resident side of joins (spec "Joining Rooms"): `make_join` hands a
joining server a template of its user's join event, `send_join` (v2) takes
the signed event, checks it as any received PDU, stores it and answers with
the room's state before it and that state's auth chain."""

from __future__ import annotations

from typing import Any

from federation.inbound_pdus import InboundPdus, as_federation_pdu, pdu_event_id
from federation.outbound.destinations import destinations_for
from federation.outbound.queue import OutboundQueues
from federation.room_access import server_in_room
from federation.room_reads import RoomReads
from federation.server_acl import check_room_allows
from homeserver.errors import MatrixError, forbidden, not_found
from homeserver.events import (
    UnsupportedRoomVersionError,
    auth_types_for_event,
    get_room_version,
    room_id_of,
)
from homeserver.events.identifiers import server_name_of
from homeserver.events.pdu_checks import passes_auth
from homeserver.server import HomeServer
from homeserver.util import now_ms

MAX_PREV_EVENTS = 10
_CREATE = ("m.room.create", "")


class ResidentJoins:
    def __init__(
        self,
        homeserver: HomeServer,
        pdus: InboundPdus,
        reads: RoomReads,
        outbound: OutboundQueues,
    ) -> None:
        self._hs = homeserver
        self._pdus = pdus
        self._reads = reads
        self._outbound = outbound

    async def make_membership(
        self, origin: str, room_id: str, user_id: str, membership: str, versions: list[str] | None
    ) -> dict[str, Any]:
        """A template of `user_id`'s `membership` event (join or leave)."""
        if not user_id.startswith("@") or ":" not in user_id or server_name_of(user_id) != origin:
            raise forbidden("The user is not on the asking server")
        await check_room_allows(self._hs, room_id, origin)
        identifier = await self._hs.storage.events.get_room_version(room_id)
        if identifier is None or not await server_in_room(self._hs, room_id, self._hs.server_name):
            raise not_found("Unknown room")
        if versions is not None and identifier not in versions:
            raise MatrixError(
                400,
                "M_INCOMPATIBLE_ROOM_VERSION",
                f"The room is version {identifier}",
                room_version=identifier,
            )
        try:
            version = get_room_version(identifier)
        except UnsupportedRoomVersionError as exc:
            raise not_found("Unknown room") from exc
        stored = await self._hs.storage.events.get_current_state(room_id)
        state = {key: e.event for key, e in stored.items()}
        extremities = await self._hs.storage.events.get_forward_extremities(room_id)
        newest = sorted(extremities, key=lambda pair: pair[1], reverse=True)[:MAX_PREV_EVENTS]
        event: dict[str, Any] = {
            "room_id": room_id,
            "sender": user_id,
            "type": "m.room.member",
            "state_key": user_id,
            "content": {"membership": membership},
            "origin_server_ts": now_ms(),
            "prev_events": [event_id for event_id, _ in newest],
            "depth": max((depth for _, depth in newest), default=0) + 1,
        }
        keys = auth_types_for_event(event, version)
        event["auth_events"] = sorted(state[key]["event_id"] for key in keys if key in state)
        auth_state = {key: state[key] for key in (*keys, _CREATE) if key in state}
        if not passes_auth(event, auth_state, version):
            raise forbidden(f"You may not {membership} this room")
        return {"event": event, "room_version": identifier}

    async def send_membership(
        self, origin: str, room_id: str, event_id: str, pdu: Any, membership: str
    ) -> dict[str, Any]:
        """Receives `origin`'s signed join or leave; for a join, answers with
        the state before it and its auth chain."""
        if not isinstance(pdu, dict):
            raise MatrixError(400, "M_BAD_JSON", "Expected the signed event")
        sender = pdu.get("sender")
        content = pdu.get("content")
        if (
            pdu.get("type") != "m.room.member"
            or not isinstance(sender, str)
            or pdu.get("state_key") != sender
            or ":" not in sender
            or server_name_of(sender) != origin
            or not isinstance(content, dict)
            or content.get("membership") != membership
            or room_id_of(pdu) != room_id
        ):
            raise MatrixError(400, "M_BAD_JSON", f"Not a {membership} of the asking server's user")
        try:
            if pdu_event_id(pdu) != event_id:
                raise MatrixError(400, "M_BAD_JSON", "The event id does not match the event")
        except ValueError as exc:
            raise MatrixError(400, "M_BAD_JSON", f"Invalid event: {exc}") from exc
        before = await self._hs.storage.events.get_current_state_ids(room_id)
        received = await self._pdus.receive(origin, pdu)
        if received.error is not None:
            raise forbidden(received.error)
        if await self._hs.storage.events.get_event(event_id) is None:
            raise forbidden(f"The {membership} is not allowed by the room's current state")
        others = await destinations_for(self._hs, room_id, self._hs.server_name)
        await self._outbound.enqueue([d for d in others if d != origin], "pdu", pdu)
        if membership != "join":
            return {}
        state = await self._hs.storage.events.get_events(before.values())
        chain = await self._reads.auth_chain(before.values())
        return {
            "origin": self._hs.server_name,
            "state": [as_federation_pdu(e.event) for e in state.values()],
            "auth_chain": [as_federation_pdu(e) for e in chain.values()],
            "event": pdu,
            "members_omitted": False,
        }
