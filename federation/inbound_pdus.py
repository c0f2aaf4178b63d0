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
server that sent the event (up to `MISSING_EVENTS_LIMIT` events). The
prev_events still unknown then (or held only as backfilled history, which
keeps no record of the state at each event) get their state from the origin
(spec "Retrieving state"): `/state_ids?event_id=<prev>`, the state and auth
chain events we lack each fetched with `/event/{eventId}` and checked
(format, signatures, content hash, the auth rules against their auth
events), and kept as outliers: recorded in `federation_event_outcomes` as
`outlier`, not in the timeline, usable as auth events and in state
resolution. The state after such a prev is its `/state_ids` state plus the
prev itself when it is a state event; the state before the received event is
resolved across all its prev_events (ours and the fetched ones). Such an
event is soft-failed unless the room's current state resolved with the state
before it allows it; once accepted, the current state is resolved with the
state after it, and the outliers that win their keys become current, stored
as history below every position held (never news in /sync). An outlier that later
arrives as a PDU (or through backfill) is stored like any other event, once,
and its outlier record dropped. When nothing can be learnt, the state before
is the room's current state."""

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
from homeserver.storage.events import PendingEvent, StateKey
from homeserver.storage.federation_rooms import EventOutcome
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

MISSING_EVENTS_LIMIT: Final = 10
# At most this many events fetched with /event to learn the state before one event.
MAX_STATE_FETCHES: Final = 500
STATE_FETCH_CONCURRENCY: Final = 8
# At most this many prev_events of one event have their state fetched.
MAX_STATE_REQUESTS: Final = 5
REJECTED: Final = "rejected"
SOFT_FAILED: Final = "soft_failed"
OUTLIER: Final = "outlier"


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


class BackfillPositions:
    """Stream positions below every one held, handed out downwards."""

    def __init__(self, homeserver: HomeServer) -> None:
        self._hs = homeserver
        self._lowest: int | None = None
        self._lock = asyncio.Lock()

    async def take(self, count: int) -> list[int]:
        """`count` fresh positions, highest first."""
        async with self._lock:
            if self._lowest is None:
                self._lowest = min(0, await self._hs.storage.events.get_min_stream_ordering())
            first = self._lowest - 1
            self._lowest -= count
            return list(range(first, first - count, -1))


class InboundPdus:
    def __init__(self, homeserver: HomeServer, keyring: Keyring, client: FederationClient) -> None:
        self._hs = homeserver
        self._keyring = keyring
        self._client = client
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Below every position held: backfilled history, and learnt state
        # made current (neither is news for /sync).
        self.history_positions = BackfillPositions(homeserver)

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
        known_outcome = (await storage.federation_rooms.get_outcomes([event_id])).get(event_id)
        if known_outcome is not None and known_outcome.outcome != OUTLIER:
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
        remote_states = await self._remote_states(origin, room_id, event, room_version)

        auth_events, rejected = await self._auth_events(event, room_id, room_version)
        try:
            check_pdu_auth_events(event, auth_events, room_version, rejected=rejected)
        except AuthError as exc:
            await self._record(origin, event, REJECTED, f"auth events: {exc}")
            raise PduError(f"rejected: {exc}") from exc

        # Copied: the cached state moves on while this awaits.
        current = dict((await self._current_room(room_id)).state)
        before = await self._state_before(event, room_version, current, remote_states)
        if not passes_auth(event, before, room_version):
            await self._record(origin, event, REJECTED, "not allowed by the state before it")
            raise PduError("rejected: not allowed by the state before the event")
        # With state learnt from the origin, the state this event is judged
        # against is the current state resolved with the state before it.
        judged = (
            await self._resolved_with_current(room_version, current, before)
            if remote_states and await self._forks(event)
            else current
        )
        if not passes_auth(event, judged, room_version):
            await self._record(origin, event, SOFT_FAILED, "not allowed by the current state")
            logger.info("soft-failed event", extra={"event_id": event_id, "room_id": room_id})
            return
        updates_state = True
        if remote_states:
            updates_state, winners = await self._resolve_learnt(
                event, room_version, current, before
            )
            await self._make_current(room_id, winners, current)
        elif "state_key" in event and await self._forks(event):
            updates_state = await self._wins_resolution(event, room_version, current, before)
        await self._hs.sender.persist_received(event, updates_state=updates_state)
        if known_outcome is not None:  # it was an outlier: now it is held
            await storage.federation_rooms.remove_outcomes([event_id])

    async def _resolve_learnt(
        self,
        event: dict[str, Any],
        room_version: RoomVersion,
        current: dict[StateKey, dict[str, Any]],
        before: dict[StateKey, Mapping[str, Any]],
    ) -> tuple[bool, dict[StateKey, Mapping[str, Any]]]:
        """The room's current state resolved with the state after an event
        whose state before was learnt from its origin: whether the event
        itself becomes current, and the other events that win their keys
        from the current state (learnt state that becomes current)."""
        after = dict(before)
        key: StateKey | None = None
        if isinstance(event.get("state_key"), str):
            key = (str(event["type"]), str(event["state_key"]))
            after[key] = event
        resolved = await self._resolved_with_current(
            room_version, current, after, {event["event_id"]: event}
        )
        winners = {
            k: e
            for k, e in resolved.items()
            if e["event_id"] != event["event_id"]
            and (k not in current or current[k]["event_id"] != e["event_id"])
            # Our own users' memberships change only through events they see.
            and not (k[0] == "m.room.member" and k[1].partition(":")[2] == self._hs.server_name)
        }
        updates = key is None or resolved.get(key, {}).get("event_id") == event["event_id"]
        return updates, winners

    async def _make_current(
        self,
        room_id: str,
        winners: dict[StateKey, Mapping[str, Any]],
        current: dict[StateKey, dict[str, Any]],
    ) -> None:
        """Makes learnt state that won resolution current. Outliers are stored
        as history (below every position held, as backfill stores): never
        news in /sync, nor forward extremities. A held event that is not
        current (it lost an earlier resolution) stays as it is."""
        if not winners:
            return
        storage = self._hs.storage
        held = await storage.events.get_events(e["event_id"] for e in winners.values())
        outliers = sorted(
            ((k, dict(e)) for k, e in winners.items() if e["event_id"] not in held),
            key=lambda pair: (-int(pair[1]["depth"]), str(pair[1]["event_id"])),
        )
        if not outliers:
            return
        positions = await self.history_positions.take(len(outliers))
        await storage.events.persist_events(
            [
                PendingEvent(
                    event,
                    position,
                    replaces_state=current[key]["event_id"] if key in current else None,
                    extremity=False,
                )
                for (key, event), position in zip(outliers, positions, strict=True)
            ]
        )
        await storage.federation_rooms.remove_outcomes(e["event_id"] for _, e in outliers)
        room = await self._current_room(room_id)
        for key, event in outliers:
            room.set_state(key, event)
        logger.info(
            "learnt state made current",
            extra={"room_id": room_id, "events": len(outliers)},
        )

    async def _resolved_with_current(
        self,
        room_version: RoomVersion,
        current: dict[StateKey, dict[str, Any]],
        before: dict[StateKey, Mapping[str, Any]],
        unstored: Mapping[str, dict[str, Any]] | None = None,
    ) -> dict[StateKey, Mapping[str, Any]]:
        current_ids = {k: str(e["event_id"]) for k, e in current.items()}
        before_ids = {k: str(e["event_id"]) for k, e in before.items()}
        if current_ids == before_ids:
            return dict(current)
        unstored = unstored or {}
        events = await self._events_with_auth_chains(
            (set(current_ids.values()) | set(before_ids.values())) - set(unstored)
            | {a for e in unstored.values() for a in e.get("auth_events", []) if isinstance(a, str)}
        )
        events.update(unstored)
        ids = resolve_state(room_version, [current_ids, before_ids], events)
        return {key: events[event_id] for key, event_id in ids.items() if event_id in events}

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
        remote_states: dict[str, dict[StateKey, str]] | None = None,
    ) -> dict[StateKey, Mapping[str, Any]]:
        """The room's state before the event: after its prev_events, resolved
        when they fork. The state after one of our events is the room's state
        as it was when that event was stored; after a prev we lack (or hold
        only as backfilled history), the state learnt from the origin
        (`remote_states`)."""
        storage = self._hs.storage.events
        room_id = str(room_id_of(event))
        prev_ids = [p for p in event.get("prev_events", []) if isinstance(p, str)]
        remote_states = remote_states or {}
        extremities = {e for e, _ in (await self._current_room(room_id)).extremities}
        if set(prev_ids) == extremities and not remote_states:
            return dict(current)
        prev = {
            event_id: stored
            for event_id, stored in (await storage.get_events(prev_ids)).items()
            if event_id not in remote_states
        }
        if not remote_states and (
            not prev
            or set(prev) == extremities
            # Backfilled history (negative positions) holds no record of the
            # state at each event: when the origin told us nothing, an event
            # built on it is judged by the current state.
            or any(p.stream_ordering < 0 for p in prev.values())
        ):
            return dict(current)
        state_sets: list[dict[StateKey, str]] = list(remote_states.values())
        events: dict[str, dict[str, Any]] = {}
        for stored in prev.values():
            if stored.stream_ordering < 0:
                continue  # its state could not be learnt
            # The current state with later changes unwound: cheap for the recent
            # prev_events a live room's PDUs name.
            state_sets.append(
                await self._hs.room_state.state_ids_at(room_id, stored.stream_ordering)
            )
        if not state_sets:
            return dict(current)
        if len(state_sets) == 1 and not remote_states:
            ids = state_sets[0]
        else:
            events = await self._events_with_auth_chains(
                {event_id for state in state_sets for event_id in state.values()}
            )
            ids = (
                state_sets[0]
                if len(state_sets) == 1
                else resolve_state(room_version, state_sets, events)
            )
        loaded = events or {
            event_id: stored.event
            for event_id, stored in (await storage.get_events(ids.values())).items()
        }
        return {key: loaded[event_id] for key, event_id in ids.items() if event_id in loaded}

    # -- state learnt from the origin ------------------------------------------

    async def _remote_states(
        self, origin: str, room_id: str, event: dict[str, Any], room_version: RoomVersion
    ) -> dict[str, dict[StateKey, str]]:
        """For each prev_event we lack (or hold only as backfilled history),
        the state after it as the origin tells it, its events checked and
        stored as outliers; the event's own auth events we lack are fetched
        the same way. Prevs whose state cannot be learnt are left out."""
        prev_ids = [p for p in event.get("prev_events", []) if isinstance(p, str)]
        extremities = {e for e, _ in (await self._current_room(room_id)).extremities}
        if set(prev_ids) <= extremities:
            return {}  # the live case: it builds on what we have
        held = await self._hs.storage.events.get_events(prev_ids)
        unknown = [p for p in prev_ids if p not in held or held[p].stream_ordering < 0][
            :MAX_STATE_REQUESTS
        ]
        auth_ids = [a for a in event.get("auth_events", []) if isinstance(a, str)]
        held_auth = await self._known(auth_ids)
        missing_auth = [a for a in auth_ids if a not in held_auth]
        if not unknown and not missing_auth:
            return {}
        answers: dict[str, list[str]] = {}
        wanted: set[str] = set(missing_auth)
        for prev_id in unknown:
            try:
                answer = await self._client.get_json(
                    origin,
                    f"/_matrix/federation/v1/state_ids/{quote_segment(room_id)}",
                    {"event_id": prev_id},
                )
            except FederationRequestError as exc:
                logger.info("state_ids failed", extra={"origin": origin, "error": str(exc)})
                continue
            pdu_ids = answer.get("pdu_ids") if isinstance(answer, dict) else None
            chain_ids = answer.get("auth_chain_ids") if isinstance(answer, dict) else None
            if not isinstance(pdu_ids, list) or not isinstance(chain_ids, list):
                continue
            state_ids = [i for i in pdu_ids if isinstance(i, str)]
            answers[prev_id] = state_ids
            wanted.update(state_ids, (i for i in chain_ids if isinstance(i, str)), [prev_id])
        available = await self._outliers(origin, room_id, room_version, wanted)
        states: dict[str, dict[StateKey, str]] = {}
        for prev_id, state_ids in answers.items():
            prev_event = available.get(prev_id)
            if prev_event is None:
                continue  # the prev itself is unknown: so is the state after it
            state: dict[StateKey, str] = {}
            for state_id in state_ids:
                found = available.get(state_id)
                if found is not None and isinstance(found.get("state_key"), str):
                    state[(str(found["type"]), str(found["state_key"]))] = state_id
            if isinstance(prev_event.get("state_key"), str):
                state[(str(prev_event["type"]), str(prev_event["state_key"]))] = prev_id
            states[prev_id] = state
        return states

    async def _outliers(
        self, origin: str, room_id: str, room_version: RoomVersion, wanted: set[str]
    ) -> dict[str, Mapping[str, Any]]:
        """The events of `wanted` that are held, known as outliers, or fetched
        from `origin` now and accepted (then stored as outliers); never the
        rejected ones."""
        store = self._hs.storage.federation_rooms
        available: dict[str, Mapping[str, Any]] = {
            event_id: stored.event
            for event_id, stored in (await self._hs.storage.events.get_events(wanted)).items()
        }
        rejected: set[str] = set()
        auth: dict[str, Mapping[str, Any]] = dict(available)
        outcomes = await store.get_outcomes(wanted - set(available))
        for outcome in outcomes.values():
            auth[outcome.event_id] = outcome.event
            if outcome.outcome == REJECTED:
                rejected.add(outcome.event_id)
            elif outcome.outcome == OUTLIER:
                available[outcome.event_id] = outcome.event
        create = (await self._current_room(room_id)).state.get(("m.room.create", ""))
        if create is not None:
            auth[str(create["event_id"])] = create
        to_fetch = sorted(wanted - set(auth))[:MAX_STATE_FETCHES]
        limit = asyncio.Semaphore(STATE_FETCH_CONCURRENCY)

        async def fetch(event_id: str) -> dict[str, Any] | None:
            async with limit:
                return await self._fetch_event(origin, room_id, room_version, event_id)

        fetched = [e for e in await asyncio.gather(*(fetch(i) for i in to_fetch)) if e]
        # Oldest first, so that each is checked against the auth events before it.
        for event in sorted(fetched, key=lambda e: int(e["depth"])):
            lacking = [a for a in _auth_ids(event, room_id, room_version) if a not in auth]
            if lacking:
                # Not judged (its auth chain did not come with it): not kept either.
                logger.info(
                    "a fetched event lacks auth events",
                    extra={"event_id": event["event_id"], "lacking": lacking[0]},
                )
                continue
            try:
                check_pdu_auth_events(event, auth, room_version, rejected=rejected)
            except AuthError as exc:
                await self._record(origin, event, REJECTED, f"fetched state: {exc}")
                rejected.add(event["event_id"])
                auth[event["event_id"]] = event
                continue
            await self._record(origin, event, OUTLIER, "state learnt with /state_ids")
            auth[event["event_id"]] = event
            available[event["event_id"]] = event
        return available

    async def _fetch_event(
        self, origin: str, room_id: str, room_version: RoomVersion, event_id: str
    ) -> dict[str, Any] | None:
        """`event_id` from `origin`'s `/event`, if it is that event, of this
        room, well formed and signed (its redacted form on a hash mismatch)."""
        try:
            answer = await self._client.get_json(
                origin, f"/_matrix/federation/v1/event/{quote_segment(event_id)}"
            )
        except FederationRequestError as exc:
            logger.info("event fetch failed", extra={"event_id": event_id, "error": str(exc)})
            return None
        pdus = answer.get("pdus") if isinstance(answer, dict) else None
        if not isinstance(pdus, list) or len(pdus) != 1 or not isinstance(pdus[0], dict):
            return None
        pdu = pdus[0]
        try:
            if room_id_of(pdu) != room_id or pdu_event_id(pdu) != event_id:
                return None
            check_pdu_format(pdu, room_version)
            await self.check_signatures(pdu)
            checked = with_content_hash_checked(pdu)
        except (InvalidPduError, PduError, ValueError) as exc:
            logger.info("a fetched event was dropped", extra={"error": str(exc)})
            return None
        event = {k: v for k, v in checked.event.items() if k != "unsigned"}
        event["event_id"] = event_id
        return event

    async def _events_with_auth_chains(self, event_ids: set[str]) -> dict[str, dict[str, Any]]:
        events: dict[str, dict[str, Any]] = {}
        frontier = set(event_ids)
        while frontier:
            found = await self._hs.storage.events.get_events(frontier)
            found_events = {event_id: stored.event for event_id, stored in found.items()}
            # Outliers (and rejected events) take part in resolution by their auth chains.
            outcomes = await self._hs.storage.federation_rooms.get_outcomes(
                frontier - set(found_events)
            )
            found_events.update({o.event_id: o.event for o in outcomes.values()})
            frontier = set()
            for event_id, found_event in found_events.items():
                events[event_id] = found_event
                for auth_id in found_event.get("auth_events", []):
                    if isinstance(auth_id, str) and auth_id not in events:
                        frontier.add(auth_id)
        return events

    async def _record(self, origin: str, event: dict[str, Any], outcome: str, reason: str) -> None:
        await self._hs.storage.federation_rooms.record_outcome(
            EventOutcome(event["event_id"], str(room_id_of(event)), origin, outcome, reason, event),
            now_ms(),
        )


def _auth_ids(event: Mapping[str, Any], room_id: str, version: RoomVersion) -> list[str]:
    ids = [a for a in event.get("auth_events", []) if isinstance(a, str)]
    if version.room_id_is_create_event_hash and event.get("type") != "m.room.create":
        ids.append(create_event_id_for_room(room_id))
    return ids


def sender_server(event: Mapping[str, Any]) -> str | None:
    sender = event.get("sender")
    return server_name_of(sender) if isinstance(sender, str) else None
