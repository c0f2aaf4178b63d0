"""Our users joining and leaving rooms that live on other servers (spec
"Joining Rooms"): make_join through one of the servers given (or the alias's
server, through its directory), sign the event, send_join, verify the state
and auth chain handed back, store them and the join. From then on the room is
a room of ours too: events flow through the transaction queues both ways.

Leaving or rejecting the invite to a room we hold no state of goes the same
way through make_leave/send_leave."""

from __future__ import annotations

import logging
from typing import Any

from federation.client import FederationClient, FederationRequestError, quote_segment
from federation.inbound_pdus import InboundPdus, PduError, pdu_event_id
from homeserver.errors import MatrixError, not_found
from homeserver.events import (
    SUPPORTED_ROOM_VERSIONS,
    AuthError,
    RoomVersion,
    compute_reference_hash_event_id,
    get_room_version,
    hash_and_sign_event,
    room_id_for_create_event,
    room_id_of,
)
from homeserver.events.identifiers import server_name_of
from homeserver.events.pdu_checks import (
    check_pdu_auth_events,
    passes_auth,
    with_content_hash_checked,
)
from homeserver.events.pdu_format import InvalidPduError, check_pdu_format
from homeserver.handlers.identifiers import parse_alias
from homeserver.server import HomeServer
from homeserver.storage.events import NewRoom
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

_VERSIONS_QUERY = "&".join(f"ver={v}" for v in sorted(SUPPORTED_ROOM_VERSIONS))


class RemoteJoins:
    def __init__(self, homeserver: HomeServer, client: FederationClient, pdus: InboundPdus) -> None:
        self._hs = homeserver
        self._client = client
        self._pdus = pdus

    async def resolve(self, room_id_or_alias: str, servers: list[str]) -> tuple[str, list[str]]:
        """The room id and the servers to try, in order."""
        if room_id_or_alias.startswith("#"):
            _, domain = parse_alias(room_id_or_alias)
            try:
                answer = await self._client.get_json(
                    domain,
                    "/_matrix/federation/v1/query/directory",
                    {"room_alias": room_id_or_alias},
                )
            except FederationRequestError as exc:
                raise not_found(f"Room alias {room_id_or_alias} not found") from exc
            room_id = answer.get("room_id") if isinstance(answer, dict) else None
            if not isinstance(room_id, str):
                raise not_found(f"Room alias {room_id_or_alias} not found")
            listed = answer.get("servers", [])
            servers = [*servers, *(s for s in listed if isinstance(s, str)), domain]
        else:
            room_id = room_id_or_alias
            if ":" in room_id:
                servers = [*servers, server_name_of(room_id)]
        ordered = list(dict.fromkeys(s for s in servers if s != self._hs.server_name))
        if not ordered:
            raise not_found("No server to join the room through")
        return room_id, ordered

    async def join(
        self, room_id_or_alias: str, user_id: str, servers: list[str], reason: str | None
    ) -> str:
        room_id, candidates = await self.resolve(room_id_or_alias, servers)
        last_error = "no server answered"
        refusal: MatrixError | None = None
        for server in candidates:
            try:
                await self._join_through(server, room_id, user_id, reason)
                return room_id
            except (FederationRequestError, PduError, AuthError, ValueError) as exc:
                last_error = f"{server}: {exc}"
                logger.info("remote join failed", extra={"server": server, "error": str(exc)})
                if isinstance(exc, FederationRequestError) and exc.status in (403, 404):
                    # The room's server said no (not allowed, no such room): say so.
                    refusal = MatrixError(
                        exc.status, exc.errcode or "M_FORBIDDEN", f"{server} refused the join"
                    )
        if refusal is not None:
            raise refusal
        raise MatrixError(502, "M_UNKNOWN", f"Could not join {room_id}: {last_error}")

    async def leave(
        self, room_id: str, user_id: str, servers: list[str], reason: str | None
    ) -> dict[str, Any]:
        """Leaves (or rejects the invite to) a room through another server,
        then records the leave here; returns the leave event."""
        _, candidates = await self.resolve(room_id, servers)
        last_error = "no server answered"
        for server in candidates:
            try:
                event, _ = await self._make(server, "leave", room_id, user_id, reason)
                event_id = compute_reference_hash_event_id(event)
                await self._client.put_json(
                    server,
                    f"/_matrix/federation/v2/send_leave/{quote_segment(room_id)}/"
                    f"{quote_segment(event_id)}",
                    event,
                )
            except (FederationRequestError, ValueError) as exc:
                last_error = f"{server}: {exc}"
                continue
            left = {**event, "event_id": event_id}
            new_room = None
            if not await self._hs.storage.events.room_exists(room_id):
                new_room = NewRoom(room_id, "", user_id, False, now_ms())
            await self._hs.sender.persist_received(left, new_room=new_room, extremity=False)
            return left
        raise MatrixError(502, "M_UNKNOWN", f"Could not leave {room_id}: {last_error}")

    async def _make(
        self, server: str, membership: str, room_id: str, user_id: str, reason: str | None
    ) -> tuple[dict[str, Any], RoomVersion]:
        """Asks `server` for the event template and signs it."""
        target = (
            f"/_matrix/federation/v1/make_{membership}/{quote_segment(room_id)}/"
            f"{quote_segment(user_id)}"
        )
        if membership == "join":
            target += f"?{_VERSIONS_QUERY}"
        answer = await self._client.request("GET", server, target)
        template = answer.get("event") if isinstance(answer, dict) else None
        if not isinstance(template, dict):
            raise ValueError("make_join answered without an event")
        version = get_room_version(answer.get("room_version"))
        content: dict[str, Any] = {"membership": membership}
        if membership == "join":
            content.update(await self._profile(user_id))
        if reason:
            content["reason"] = reason
        event = {
            "room_id": room_id,
            "sender": user_id,
            "type": "m.room.member",
            "state_key": user_id,
            "content": content,
            "origin_server_ts": now_ms(),
            "auth_events": template.get("auth_events"),
            "prev_events": template.get("prev_events"),
            "depth": template.get("depth"),
        }
        keys = self._hs.keys
        hash_and_sign_event(event, self._hs.server_name, keys.event_key_id, keys.event_key)
        check_pdu_format(event, version)
        return event, version

    async def _profile(self, user_id: str) -> dict[str, Any]:
        user = await self._hs.storage.users.get_user(user_id)
        found: dict[str, Any] = {}
        if user is not None and user.displayname:
            found["displayname"] = user.displayname
        if user is not None and user.avatar_url:
            found["avatar_url"] = user.avatar_url
        return found

    async def _join_through(
        self, server: str, room_id: str, user_id: str, reason: str | None
    ) -> None:
        event, version = await self._make(server, "join", room_id, user_id, reason)
        event_id = compute_reference_hash_event_id(event)
        answer = await self._client.put_json(
            server,
            f"/_matrix/federation/v2/send_join/{quote_segment(room_id)}/{quote_segment(event_id)}",
            event,
        )
        if not isinstance(answer, dict):
            raise ValueError("send_join answered with no object")
        state_pdus, chain_pdus = answer.get("state"), answer.get("auth_chain")
        if not isinstance(state_pdus, list) or not isinstance(chain_pdus, list):
            raise ValueError("send_join answered without state and auth_chain")
        verified = await self._verified(room_id, version, [*chain_pdus, *state_pdus])
        state_ids = {pdu_event_id(p) for p in state_pdus if isinstance(p, dict)}
        state = {
            (e["type"], e["state_key"]): e
            for e in verified.values()
            if e["event_id"] in state_ids and "state_key" in e
        }
        create = state.get(("m.room.create", ""))
        if create is None:
            raise ValueError("the room's state has no create event")
        expected = (
            room_id_for_create_event(create)
            if version.room_id_is_create_event_hash
            else create.get("room_id")
        )
        if expected != room_id:
            raise ValueError("the create event is not this room's")
        join = {**event, "event_id": event_id}
        if not passes_auth(join, state, version):
            raise ValueError("the join is not allowed by the room's state")
        await self._store(room_id, version, create, verified, set(state_ids), join)

    async def _verified(
        self, room_id: str, version: RoomVersion, pdus: list[Any]
    ) -> dict[str, dict[str, Any]]:
        """The PDUs that pass the format, signature, hash and auth-event
        checks (checked oldest first, each against those before it)."""
        candidates: dict[str, dict[str, Any]] = {}
        for pdu in pdus:
            if not isinstance(pdu, dict) or room_id_of(pdu) != room_id:
                continue
            try:
                check_pdu_format(pdu, version)
                await self._pdus.check_signatures(pdu)
                event = dict(with_content_hash_checked(pdu).event)
                event.pop("unsigned", None)
                event["event_id"] = pdu_event_id(pdu)
            except (InvalidPduError, PduError, ValueError) as exc:
                logger.info("a state event from send_join was dropped", extra={"error": str(exc)})
                continue
            candidates[event["event_id"]] = event
        verified: dict[str, dict[str, Any]] = {}
        for event in sorted(candidates.values(), key=lambda e: int(e["depth"])):
            try:
                check_pdu_auth_events(event, verified, version)
            except AuthError as exc:
                logger.info("a state event from send_join failed auth", extra={"error": str(exc)})
                continue
            verified[event["event_id"]] = event
        return verified

    async def _store(
        self,
        room_id: str,
        version: RoomVersion,
        create: dict[str, Any],
        verified: dict[str, dict[str, Any]],
        state_ids: set[str],
        join: dict[str, Any],
    ) -> None:
        """Stores the auth chain, then the state (so that the state is what
        current state ends as), then the join: the only forward extremity."""
        sender = self._hs.sender
        events = self._hs.storage.events
        new_room = None
        if not await events.room_exists(room_id):  # else known by an invite
            new_room = NewRoom(room_id, version.identifier, str(create["sender"]), False, now_ms())
        held = set(await events.get_events(verified))  # our invite, for one
        if create["event_id"] not in held:
            await sender.persist_received(create, new_room=new_room, extremity=False)
        rest = sorted(
            (
                e
                for e in verified.values()
                if e["event_id"] != create["event_id"] and e["event_id"] not in held
            ),
            key=lambda e: (e["event_id"] in state_ids, int(e["depth"])),
        )
        for event in rest:
            await sender.persist_received(event, extremity=False)
        await sender.persist_received(join)
        # The history before the join is fetched when a user pages back to it.
        prev = [p for p in join.get("prev_events", []) if isinstance(p, str)]
        held = set(await events.get_events(prev))
        await self._hs.storage.federation_rooms.add_backfill_points(
            room_id, {p: int(join["depth"]) for p in prev if p not in held}
        )
