"""Receiving PDUs from other servers (spec "Checks performed on receipt of a
PDU"), one room at a time, in order:

format and size -> signatures -> content hash (a mismatch keeps only the
redacted form) -> the auth rules against its own auth events (else rejected)
-> against the state before it (else rejected) -> against the room's current
state (else soft-failed: kept aside, not served, not a forward extremity).

An accepted event is persisted through the event sender, the path local
events take, so local clients see it in /sync, /messages and the WebSocket.
Rejected and soft-failed events are recorded (`federation_event_outcomes`).

Missing `prev_events` are asked for once with `get_missing_events` from the
server that sent the event (up to `MISSING_EVENTS_LIMIT` events). When the gap
cannot be filled, the state before the event is taken to be the room's
current state."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from federation.client import FederationClient, FederationRequestError, quote_segment
from federation.keyring import Keyring
from federation.server_acl import room_allows
from homeserver.events import (
    AuthError,
    RoomVersion,
    UnsupportedRoomVersionError,
    auth_types_for_event,
    compute_reference_hash_event_id,
    get_room_version,
    room_id_of,
)
from homeserver.events.identifiers import server_name_of
from homeserver.events.pdu_checks import (
    SignatureError,
    check_pdu_auth_events,
    check_pdu_signatures,
    passes_auth,
    with_content_hash_checked,
)
from homeserver.events.pdu_format import InvalidPduError, check_pdu_format
from homeserver.events.room_ids import create_event_id_for_room
from homeserver.events.state_res import resolve_state
from homeserver.handlers.room_cache import CachedRoom
from homeserver.server import HomeServer
from homeserver.storage.events import StateKey
from homeserver.storage.federation_rooms import EventOutcome
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

MISSING_EVENTS_LIMIT: Final = 10
REJECTED: Final = "rejected"
SOFT_FAILED: Final = "soft_failed"


class PduError(Exception):
    """The PDU was not accepted; `str()` is the reason given to its sender."""


@dataclass(frozen=True)
class Received:
    event_id: str
    error: str | None  # None: accepted (or already known)


def pdu_event_id(pdu: Mapping[str, Any]) -> str:
    """The event id of a PDU in the federation format (room versions 4+)."""
    return compute_reference_hash_event_id(pdu)


def as_federation_pdu(event: Mapping[str, Any]) -> dict[str, Any]:
    """A stored event as it goes over federation: no `event_id`, no `unsigned`."""
    return {k: v for k, v in event.items() if k not in ("event_id", "unsigned")}


class InboundPdus:
    def __init__(self, homeserver: HomeServer, keyring: Keyring, client: FederationClient) -> None:
        self._hs = homeserver
        self._keyring = keyring
        self._client = client
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _room_lock(self, room_id: str) -> asyncio.Lock:
        lock = self._locks.get(room_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[room_id] = lock
        return lock

    async def receive(self, origin: str, pdu: Any) -> Received:
        """Checks and stores one PDU that `origin` sent in a transaction."""
        event_id = ""
        try:
            if not isinstance(pdu, dict):
                raise PduError("a PDU must be a JSON object")
            room_id = room_id_of(pdu)
            if room_id is None:
                raise PduError("the PDU has no room_id")
            event_id = pdu_event_id(pdu)
            if not await room_allows(self._hs, room_id, origin):
                raise PduError("the room's server ACL denies the origin")
            async with self._room_lock(room_id):
                await self._receive_in_room(origin, room_id, event_id, pdu, fill_gaps=True)
        except PduError as exc:
            return Received(event_id, str(exc))
        except ValueError as exc:  # not canonical JSON, bad base64 and the like
            return Received(event_id, f"invalid PDU: {exc}")
        return Received(event_id, None)

    async def _current_room(self, room_id: str) -> CachedRoom:
        room = await self._hs.sender.current_room(room_id)
        if room is None:
            raise PduError(f"unknown room {room_id}")
        return room

    async def room_version(self, room_id: str) -> RoomVersion:
        create = (await self._current_room(room_id)).state.get(("m.room.create", ""))
        content = create.get("content") if create is not None else None
        identifier = content.get("room_version", "1") if isinstance(content, dict) else "1"
        try:
            return get_room_version(identifier)
        except UnsupportedRoomVersionError as exc:
            raise PduError(str(exc)) from exc

    async def _receive_in_room(
        self, origin: str, room_id: str, event_id: str, pdu: dict[str, Any], *, fill_gaps: bool
    ) -> None:
        storage = self._hs.storage
        room_version = await self.room_version(room_id)
        try:
            check_pdu_format(pdu, room_version)
        except InvalidPduError as exc:
            raise PduError(str(exc)) from exc
        if await storage.events.get_event(event_id) is not None:
            return
        if await storage.federation_rooms.get_outcomes([event_id]):
            return
        await self.check_signatures(pdu)
        checked = with_content_hash_checked(pdu)
        event = {k: v for k, v in checked.event.items() if k != "unsigned"}
        event["event_id"] = event_id
        if checked.redacted:
            logger.info(
                "content hash mismatch: keeping the redacted event", extra={"event_id": event_id}
            )

        if fill_gaps:
            await self._fill_gap(origin, room_id, event)

        auth_events, rejected = await self._auth_events(event, room_id, room_version)
        try:
            check_pdu_auth_events(event, auth_events, room_version, rejected=rejected)
        except AuthError as exc:
            await self._record(origin, event, REJECTED, f"auth events: {exc}")
            raise PduError(f"rejected: {exc}") from exc

        # Copied: the cached state moves on while this awaits.
        current = dict((await self._current_room(room_id)).state)
        before = await self._state_before(event, room_version, current)
        if not passes_auth(event, before, room_version):
            await self._record(origin, event, REJECTED, "not allowed by the state before it")
            raise PduError("rejected: not allowed by the state before the event")
        if not passes_auth(event, current, room_version):
            await self._record(origin, event, SOFT_FAILED, "not allowed by the current state")
            logger.info("soft-failed event", extra={"event_id": event_id, "room_id": room_id})
            return
        updates_state = True
        if "state_key" in event and await self._forks(event):
            updates_state = await self._wins_resolution(event, room_version, current, before)
        await self._hs.sender.persist_received(event, updates_state=updates_state)

    async def _forks(self, event: dict[str, Any]) -> bool:
        """Whether the event builds on less than all of the room's forward
        extremities (so the current state may hold changes it did not see)."""
        room = await self._current_room(str(room_id_of(event)))
        extremities = {e for e, _ in room.extremities}
        return not extremities <= set(event.get("prev_events", []))

    async def _wins_resolution(
        self,
        event: dict[str, Any],
        room_version: RoomVersion,
        current: dict[StateKey, dict[str, Any]],
        before: dict[StateKey, Mapping[str, Any]],
    ) -> bool:
        """Whether resolving the room's current state with the state after a
        forked state event keeps that event for its key."""
        key = (str(event["type"]), str(event["state_key"]))
        current_ids = {k: str(e["event_id"]) for k, e in current.items()}
        after_ids = {k: str(e["event_id"]) for k, e in before.items()}
        after_ids[key] = event["event_id"]
        ids = set(current_ids.values()) | set(after_ids.values())
        ids.discard(event["event_id"])
        events = await self._events_with_auth_chains(
            ids | {a for a in event.get("auth_events", []) if isinstance(a, str)}
        )
        events[event["event_id"]] = event
        resolved = resolve_state(room_version, [current_ids, after_ids], events)
        return bool(resolved.get(key) == event["event_id"])

    async def check_signatures(self, pdu: dict[str, Any]) -> None:
        ts = pdu.get("origin_server_ts")
        ts = ts if isinstance(ts, int) else 0
        keys: dict[tuple[str, str], Ed25519PublicKey] = {}
        signatures = pdu.get("signatures")
        if isinstance(signatures, dict):
            for server, by_key in signatures.items():
                if not isinstance(server, str) or not isinstance(by_key, dict):
                    continue
                for key_id in by_key:
                    if not isinstance(key_id, str):
                        continue
                    key = await self._keyring.key_valid_at(server, key_id, ts)
                    if key is not None:
                        keys[(server, key_id)] = key
        try:
            check_pdu_signatures(pdu, lambda server, key_id, _ts: keys.get((server, key_id)))
        except SignatureError as exc:
            raise PduError(f"bad signature: {exc}") from exc

    async def _fill_gap(self, origin: str, room_id: str, event: dict[str, Any]) -> None:
        """Asks `origin` for the prev_events we lack (and what leads to them),
        and receives them, oldest first, before `event`."""
        prev = [p for p in event.get("prev_events", []) if isinstance(p, str)]
        extremities = [e for e, _ in (await self._current_room(room_id)).extremities]
        if set(prev) <= set(extremities):
            return  # the live case: it builds on what we have
        known = await self._known(prev)
        if all(p in known for p in prev):
            return
        try:
            answer = await self._client.post_json(
                origin,
                f"/_matrix/federation/v1/get_missing_events/{quote_segment(room_id)}",
                {
                    "earliest_events": extremities,
                    "latest_events": [event["event_id"]],
                    "limit": MISSING_EVENTS_LIMIT,
                    "min_depth": 0,
                },
            )
        except FederationRequestError as exc:
            logger.info("get_missing_events failed", extra={"origin": origin, "error": str(exc)})
            return
        missing = answer.get("events") if isinstance(answer, dict) else None
        if not isinstance(missing, list):
            return
        usable = [e for e in missing if isinstance(e, dict) and isinstance(e.get("depth"), int)]
        for pdu in sorted(usable, key=lambda e: e["depth"])[:MISSING_EVENTS_LIMIT]:
            if room_id_of(pdu) != room_id:
                continue
            try:
                await self._receive_in_room(
                    origin, room_id, pdu_event_id(pdu), pdu, fill_gaps=False
                )
            except (PduError, ValueError) as exc:
                logger.info("a missing event was not accepted", extra={"error": str(exc)})

    async def _known(self, event_ids: list[str]) -> set[str]:
        stored = await self._hs.storage.events.get_events(event_ids)
        return set(stored)

    async def _auth_events(
        self, event: dict[str, Any], room_id: str, room_version: RoomVersion
    ) -> tuple[dict[str, Mapping[str, Any]], set[str]]:
        """The event's auth events we hold (accepted or rejected) and which of
        them were rejected."""
        wanted = [a for a in event.get("auth_events", []) if isinstance(a, str)]
        if room_version.room_id_is_create_event_hash and event.get("type") != "m.room.create":
            wanted.append(create_event_id_for_room(room_id))
        # Live events are authorised by the current state: take those from the cache.
        found: dict[str, Mapping[str, Any]] = {}
        state = (await self._current_room(room_id)).state
        for key in (*auth_types_for_event(event, room_version), ("m.room.create", "")):
            cached = state.get(key)
            if cached is not None and cached["event_id"] in wanted:
                found[cached["event_id"]] = cached
        missing = [a for a in wanted if a not in found]
        if missing:
            stored = await self._hs.storage.events.get_events(missing)
            found.update({event_id: e.event for event_id, e in stored.items()})
        outcomes = await self._hs.storage.federation_rooms.get_outcomes(
            [a for a in wanted if a not in found]
        )
        rejected = {o.event_id for o in outcomes.values() if o.outcome == REJECTED}
        for outcome in outcomes.values():
            found[outcome.event_id] = outcome.event
        return found, rejected

    async def _state_before(
        self,
        event: dict[str, Any],
        room_version: RoomVersion,
        current: dict[StateKey, dict[str, Any]],
    ) -> dict[StateKey, Mapping[str, Any]]:
        """The room's state before the event: after its prev_events, resolved
        when they fork. The state after one of our events is the room's state
        as it was when that event was stored."""
        storage = self._hs.storage.events
        room_id = str(room_id_of(event))
        prev_ids = [p for p in event.get("prev_events", []) if isinstance(p, str)]
        extremities = {e for e, _ in (await self._current_room(room_id)).extremities}
        if set(prev_ids) == extremities:
            return dict(current)
        prev = await storage.get_events(prev_ids)
        if not prev or set(prev) == extremities:
            return dict(current)
        state_sets: list[dict[StateKey, str]] = []
        events: dict[str, dict[str, Any]] = {}
        for stored in prev.values():
            # The current state with later changes unwound: cheap for the recent
            # prev_events a live room's PDUs name.
            state_sets.append(
                await self._hs.room_state.state_ids_at(room_id, stored.stream_ordering)
            )
        if len(state_sets) == 1:
            ids = state_sets[0]
        else:
            events = await self._events_with_auth_chains(
                {event_id for state in state_sets for event_id in state.values()}
            )
            ids = resolve_state(room_version, state_sets, events)
        loaded = events or {
            event_id: stored.event
            for event_id, stored in (await storage.get_events(ids.values())).items()
        }
        return {key: loaded[event_id] for key, event_id in ids.items() if event_id in loaded}

    async def _events_with_auth_chains(self, event_ids: set[str]) -> dict[str, dict[str, Any]]:
        events: dict[str, dict[str, Any]] = {}
        frontier = set(event_ids)
        while frontier:
            found = await self._hs.storage.events.get_events(frontier)
            frontier = set()
            for event_id, stored in found.items():
                events[event_id] = stored.event
                for auth_id in stored.event.get("auth_events", []):
                    if isinstance(auth_id, str) and auth_id not in events:
                        frontier.add(auth_id)
        return events

    async def _record(self, origin: str, event: dict[str, Any], outcome: str, reason: str) -> None:
        await self._hs.storage.federation_rooms.record_outcome(
            EventOutcome(event["event_id"], str(room_id_of(event)), origin, outcome, reason, event),
            now_ms(),
        )


def sender_server(event: Mapping[str, Any]) -> str | None:
    sender = event.get("sender")
    return server_name_of(sender) if isinstance(sender, str) else None
