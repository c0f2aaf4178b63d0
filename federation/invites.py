"""Invites across servers (`PUT /_matrix/federation/v2/invite/{roomId}/{eventId}`).

Outbound: an invite of another server's user goes to that server before it
is stored here; if that server refuses, the invite is not sent. Inbound: an
invite of one of our users is checked (format, the inviting server's
signature, content hash), counter-signed and stored, so that the user sees it
in /sync and can join (make_join/send_join) or reject it (make_leave/
send_leave)."""

from __future__ import annotations

from typing import Any, Final

from federation.client import FederationClient, FederationRequestError, quote_segment
from federation.inbound_pdus import InboundPdus, PduError, as_federation_pdu, pdu_event_id
from homeserver.errors import MatrixError, forbidden
from homeserver.events import (
    UnsupportedRoomVersionError,
    get_room_version,
    redact_event,
    room_id_of,
    sign_json,
)
from homeserver.events.identifiers import server_name_of
from homeserver.events.pdu_checks import with_content_hash_checked
from homeserver.events.pdu_format import InvalidPduError, check_pdu_format
from homeserver.server import HomeServer
from homeserver.storage.events import NewRoom
from homeserver.util import now_ms

STRIPPED_STATE_TYPES = (
    "m.room.create",
    "m.room.join_rules",
    "m.room.name",
    "m.room.avatar",
    "m.room.canonical_alias",
    "m.room.encryption",
)


class Invites:
    def __init__(self, homeserver: HomeServer, client: FederationClient, pdus: InboundPdus) -> None:
        self._hs = homeserver
        self._client = client
        self._pdus = pdus

    async def send_invite(self, event: dict[str, Any]) -> None:
        """Sends our user's invite of another server's user to that server;
        MatrixError if it refuses or cannot be reached."""
        room_id = str(room_id_of(event))
        target = str(event["state_key"])
        destination = server_name_of(target)
        version = await self._hs.storage.events.get_room_version(room_id)
        state = await self._hs.storage.events.get_current_state(
            room_id, [(t, "") for t in STRIPPED_STATE_TYPES]
        )
        stripped = [
            {
                "type": e.type,
                "state_key": e.state_key,
                "content": e.event["content"],
                "sender": e.event["sender"],
            }
            for e in state.values()
        ]
        body = {
            "event": as_federation_pdu(event),
            "room_version": version,
            "invite_room_state": stripped,
        }
        path = (
            f"/_matrix/federation/v2/invite/{quote_segment(room_id)}/"
            f"{quote_segment(event['event_id'])}"
        )
        try:
            await self._client.put_json(destination, path, body)
        except FederationRequestError as exc:
            if exc.status is not None and exc.errcode:
                raise MatrixError(403, "M_FORBIDDEN", f"{destination} refused the invite") from exc
            raise MatrixError(502, "M_UNKNOWN", f"Could not reach {destination}") from exc

    async def receive_invite(
        self, origin: str, room_id: str, event_id: str, body: Any
    ) -> dict[str, Any]:
        """An invite of one of our users from `origin`: checked, signed, stored."""
        if not isinstance(body, dict) or not isinstance(body.get("event"), dict):
            raise MatrixError(400, "M_BAD_JSON", "Expected event and room_version")
        pdu: dict[str, Any] = body["event"]
        try:
            version = get_room_version(body.get("room_version"))
        except UnsupportedRoomVersionError as exc:
            raise MatrixError(
                400,
                "M_INCOMPATIBLE_ROOM_VERSION",
                "Unsupported room version",
                room_version=body.get("room_version"),
            ) from exc
        target = pdu.get("state_key")
        sender = pdu.get("sender")
        content = pdu.get("content")
        if (
            pdu.get("type") != "m.room.member"
            or not isinstance(content, dict)
            or content.get("membership") != "invite"
            or not isinstance(target, str)
            or not isinstance(sender, str)
            or ":" not in target
            or ":" not in sender
            or room_id_of(pdu) != room_id
        ):
            raise MatrixError(400, "M_BAD_JSON", "Not an invite event")
        if server_name_of(sender) != origin:
            raise forbidden("The inviter is not on the asking server")
        if server_name_of(target) != self._hs.server_name:
            raise MatrixError(400, "M_INVALID_PARAM", "The invitee is not on this server")
        if await self._hs.storage.users.get_user(target) is None:
            raise MatrixError(404, "M_NOT_FOUND", "Unknown user")
        try:
            check_pdu_format(pdu, version)
            if pdu_event_id(pdu) != event_id:
                raise MatrixError(400, "M_BAD_JSON", "The event id does not match the event")
            await self._pdus.check_signatures(pdu)
        except (InvalidPduError, PduError, ValueError) as exc:
            raise forbidden(f"Invalid invite: {exc}") from exc
        signed = self._countersigned(pdu)
        stored = dict(with_content_hash_checked(signed).event)
        stored["event_id"] = event_id
        stored.pop("unsigned", None)
        events = self._hs.storage.events
        state = await events.get_current_state_ids(room_id)
        if ("m.room.create", "") in state:
            # A room we hold: the invite is one more event of its DAG.
            received = await self._pdus.receive(origin, pdu)
            if received.error is not None:
                raise forbidden(received.error)
        elif await events.get_event(event_id) is None:
            current = await events.get_membership(room_id, target)
            if current is not None and current.membership == "join":
                raise forbidden("The user is already in the room")
            new_room = None
            if not await events.room_exists(room_id):
                new_room = NewRoom(room_id, version.identifier, sender, False, now_ms())
            # What the inviting server says of the room (its name, avatar, join
            # rules...), shown to the invitee until they join; kept with the
            # invite, never served over federation (it is `unsigned`).
            room_state = body.get("invite_room_state")
            if room_state is None:
                unsigned = pdu.get("unsigned")
                room_state = (
                    unsigned.get("invite_room_state") if isinstance(unsigned, dict) else None
                )
            described = stripped_state(room_state)
            if described:
                stored["unsigned"] = {"invite_room_state": described}
            await self._hs.sender.persist_received(stored, new_room=new_room, extremity=False)
        return {"event": signed}

    def _countersigned(self, pdu: dict[str, Any]) -> dict[str, Any]:
        """The event with our signature added (over its redacted form, as
        every event signature is)."""
        keys = self._hs.keys
        redacted = {k: v for k, v in redact_event(pdu).items() if k != "signatures"}
        ours = sign_json(redacted, self._hs.server_name, keys.event_key_id, keys.event_key)
        signatures = {
            server: dict(by_key) for server, by_key in dict(pdu.get("signatures", {})).items()
        }
        signatures.setdefault(self._hs.server_name, {}).update(
            ours["signatures"][self._hs.server_name]
        )
        return {**pdu, "signatures": signatures}


MAX_INVITE_ROOM_STATE: Final = 50


def stripped_state(value: Any) -> list[dict[str, Any]]:
    """The well-formed stripped state events of `value` (type, state_key,
    sender, content), at most `MAX_INVITE_ROOM_STATE`; anything else is dropped."""
    if not isinstance(value, list):
        return []
    kept = []
    for item in value[:MAX_INVITE_ROOM_STATE]:
        if not isinstance(item, dict):
            continue
        event_type, state_key = item.get("type"), item.get("state_key")
        sender, content = item.get("sender"), item.get("content")
        if (
            isinstance(event_type, str)
            and isinstance(state_key, str)
            and isinstance(sender, str)
            and isinstance(content, dict)
        ):
            kept.append(
                {"type": event_type, "state_key": state_key, "sender": sender, "content": content}
            )
    return kept
