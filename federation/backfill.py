"""Backfill as a client (spec "Backfilling and retrieving missing events"):
the history of a room from before this server joined it, fetched from a
server in the room when a user pages past the oldest event held.

Where the history held stops short is kept as the room's backfill points
(`federation_backfill_points`): events named in `prev_events` that we lack.
A join through another server records the join's own `prev_events`; each
backfill replaces the points it fetched by the `prev_events` of what came
back. `/backfill` is asked for what lies behind the deepest points.

Each fetched event is checked like a received PDU: format and size,
signatures, content hash (a mismatch keeps the redacted form), and the auth
rules against its auth events (those held, those of the same answer, else
the event's auth chain from `/event_auth`); an event failing them is
rejected and recorded (`federation_event_outcomes`). Events are not
soft-failed (that is for new events), and are not checked against the state
before them (which would take a `/state_ids` per event).

Accepted events are history, not news: they are written straight to storage
at negative stream positions, counting down from the lowest held, deepest
first, so that `/messages` going backwards runs on into them while `/sync`
(which only moves forwards) never sees them. They touch neither the room's
current state nor its forward extremities, and nobody is notified or pushed."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

from federation.client import FederationClient, FederationRequestError, quote_segment
from federation.inbound_pdus import (
    OUTLIER,
    REJECTED,
    InboundPdus,
    PduError,
    pdu_event_id,
)
from federation.server_acl import room_allows
from homeserver.events import AuthError, RoomVersion, room_id_of
from homeserver.events.identifiers import server_name_of
from homeserver.events.pdu_checks import check_pdu_auth_events, with_content_hash_checked
from homeserver.events.pdu_format import InvalidPduError, check_pdu_format
from homeserver.events.room_ids import create_event_id_for_room
from homeserver.server import HomeServer
from homeserver.storage.events import PendingEvent
from homeserver.storage.federation_rooms import EventOutcome
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

MAX_LIMIT: Final = 100
# How many backfill points one request starts from (they go in the URL).
MAX_STARTS: Final = 20
# How many events of one answer may have their auth chain fetched.
MAX_AUTH_FETCHES: Final = 10


class Backfill:
    """The homeserver's `RemoteHistory`: older history of rooms shared with
    other servers."""

    def __init__(self, homeserver: HomeServer, client: FederationClient, pdus: InboundPdus) -> None:
        self._hs = homeserver
        self._client = client
        self._pdus = pdus
        self._positions = pdus.history_positions
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _room_lock(self, room_id: str) -> asyncio.Lock:
        lock = self._locks.get(room_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[room_id] = lock
        return lock

    async def backfill(self, room_id: str, limit: int) -> int:
        async with self._room_lock(room_id):
            try:
                return await self._backfill(room_id, max(1, min(limit, MAX_LIMIT)))
            except (PduError, ValueError) as exc:
                logger.info("backfill failed", extra={"room_id": room_id, "error": str(exc)})
                return 0

    async def _backfill(self, room_id: str, limit: int) -> int:
        store = self._hs.storage.federation_rooms
        points = await store.get_backfill_points(room_id, MAX_STARTS)
        if not points:
            return 0
        version = await self._pdus.room_version(room_id)
        query = urlencode([*(("v", p) for p in points), ("limit", str(limit))])
        target = f"/_matrix/federation/v1/backfill/{quote_segment(room_id)}?{query}"
        answered = False
        for server in await self._servers(room_id):
            try:
                answer = await self._client.request("GET", server, target)
            except FederationRequestError as exc:
                logger.info("backfill request failed", extra={"server": server, "error": str(exc)})
                continue
            pdus = answer.get("pdus") if isinstance(answer, dict) else None
            if not isinstance(pdus, list):
                continue
            answered = True
            progressed, stored = await self.take(server, room_id, version, pdus)
            if progressed:
                return stored
        if answered:
            # The servers that answered have nothing (that we may see) behind
            # these points: stop asking for them. When none answered, a later
            # page asks again.
            await store.remove_backfill_points(room_id, points)
        return 0

    async def _servers(self, room_id: str) -> list[str]:
        """The other servers with users joined to the room, the creator's
        first (it holds the whole history), then the busiest."""
        events = self._hs.storage.events
        members = await events.get_joined_member_contents(room_id)
        counts: dict[str, int] = {}
        for user_id in members:
            server = server_name_of(user_id)
            if server != self._hs.server_name:
                counts[server] = counts.get(server, 0) + 1
        create = (await events.get_current_state(room_id, [("m.room.create", "")])).get(
            ("m.room.create", "")
        )
        creator = server_name_of(str(create.event["sender"])) if create is not None else None
        ordered = sorted(counts, key=lambda s: (s != creator, -counts[s], s))
        return [s for s in ordered if await room_allows(self._hs, room_id, s)]

    async def take(
        self, server: str, room_id: str, version: RoomVersion, pdus: list[Any]
    ) -> tuple[bool, int]:
        """Checks and stores what `server` answered. Returns whether it moved
        the backfill points (anything held or new came back) and how many
        events were stored."""
        events_store = self._hs.storage.events
        store = self._hs.storage.federation_rooms
        received: dict[str, dict[str, Any]] = {}
        for pdu in pdus[:MAX_LIMIT]:
            event = await self._checked(room_id, version, pdu)
            if event is not None:
                received[event["event_id"]] = event
        if not received:
            return False, 0
        held = set(await events_store.get_events(received))
        # Outliers (state learnt with /state_ids) are history like the rest:
        # stored now, their outlier record dropped.
        outcomes = {
            i: o
            for i, o in (await store.get_outcomes([i for i in received if i not in held])).items()
            if o.outcome != OUTLIER
        }
        new = {i: e for i, e in received.items() if i not in held and i not in outcomes}

        accepted = await self._authorised(server, room_id, version, new)
        for event_id, event in new.items():
            if event_id not in accepted:
                await store.record_outcome(
                    EventOutcome(event_id, room_id, server, REJECTED, "backfill: auth", event),
                    now_ms(),
                )
        if accepted:
            ordered = sorted(
                accepted.values(),
                key=lambda e: (-int(e["depth"]), -int(e.get("origin_server_ts", 0)), e["event_id"]),
            )
            positions = await self._positions.take(len(ordered))
            await events_store.persist_events(
                [
                    PendingEvent(event, position, extremity=False, updates_state=False)
                    for event, position in zip(ordered, positions, strict=True)
                ]
            )
            await store.remove_outcomes(accepted)

        # The points move behind what came back (held or now stored).
        reached = {*held, *accepted, *(i for i in new if i not in accepted)}
        behind: dict[str, int] = {}
        for event_id in reached:
            event = received[event_id]
            for prev in event.get("prev_events", []):
                if isinstance(prev, str) and prev not in received:
                    behind[prev] = max(behind.get(prev, 0), int(event["depth"]))
        present = set(await events_store.get_events(behind))
        present |= {
            i
            for i, o in (await store.get_outcomes([p for p in behind if p not in present])).items()
            if o.outcome != OUTLIER
        }
        await store.remove_backfill_points(room_id, received)
        await store.add_backfill_points(
            room_id, {p: d for p, d in behind.items() if p not in present}
        )
        logger.info(
            "backfilled",
            extra={"room_id": room_id, "server": server, "stored": len(accepted)},
        )
        return True, len(accepted)

    async def _checked(self, room_id: str, version: RoomVersion, pdu: Any) -> dict[str, Any] | None:
        """The event of a fetched PDU that passes format, signatures and the
        content hash (redacted on a mismatch), or None."""
        if not isinstance(pdu, dict) or room_id_of(pdu) != room_id:
            return None
        try:
            check_pdu_format(pdu, version)
            await self._pdus.check_signatures(pdu)
            checked = with_content_hash_checked(pdu)
            event = {k: v for k, v in checked.event.items() if k != "unsigned"}
            event["event_id"] = pdu_event_id(pdu)
        except (InvalidPduError, PduError, ValueError) as exc:
            logger.info("a backfilled event was dropped", extra={"error": str(exc)})
            return None
        return event

    async def _authorised(
        self,
        server: str,
        room_id: str,
        version: RoomVersion,
        new: dict[str, dict[str, Any]],
    ) -> dict[str, dict[str, Any]]:
        """The events of `new` that pass the auth rules against their auth
        events, checked shallowest first so that the answer's own events can
        authorise later ones."""
        auth: dict[str, Mapping[str, Any]] = {}
        rejected: set[str] = set()
        wanted = {a for e in new.values() for a in _auth_ids(e, room_id, version)} - set(new)
        await self._load_auth(wanted, auth, rejected)
        missing = [
            e
            for e in new.values()
            if any(a not in auth and a not in new for a in _auth_ids(e, room_id, version))
        ]
        for event in sorted(missing, key=lambda e: -int(e["depth"]))[:MAX_AUTH_FETCHES]:
            await self._fetch_auth_chain(server, room_id, version, event["event_id"], auth)
        accepted: dict[str, dict[str, Any]] = {}
        for event in sorted(new.values(), key=lambda e: int(e["depth"])):
            try:
                check_pdu_auth_events(event, auth, version, rejected=rejected)
            except AuthError as exc:
                logger.info(
                    "a backfilled event failed auth",
                    extra={"event_id": event["event_id"], "error": str(exc)},
                )
                rejected.add(event["event_id"])
                auth[event["event_id"]] = event
                continue
            accepted[event["event_id"]] = event
            auth[event["event_id"]] = event
        return accepted

    async def _load_auth(
        self, wanted: set[str], auth: dict[str, Mapping[str, Any]], rejected: set[str]
    ) -> None:
        held = await self._hs.storage.events.get_events(wanted)
        for event_id, stored in held.items():
            auth[event_id] = stored.event
        outcomes = await self._hs.storage.federation_rooms.get_outcomes(
            [w for w in wanted if w not in held]
        )
        for outcome in outcomes.values():
            auth[outcome.event_id] = outcome.event
            if outcome.outcome == REJECTED:
                rejected.add(outcome.event_id)

    async def _fetch_auth_chain(
        self,
        server: str,
        room_id: str,
        version: RoomVersion,
        event_id: str,
        auth: dict[str, Mapping[str, Any]],
    ) -> None:
        """Adds the verified auth chain of `event_id`, from `server`, to `auth`
        (for checking only: such events are stored once backfill reaches them)."""
        try:
            answer = await self._client.get_json(
                server,
                f"/_matrix/federation/v1/event_auth/{quote_segment(room_id)}/"
                f"{quote_segment(event_id)}",
            )
        except FederationRequestError as exc:
            logger.info("event_auth failed", extra={"server": server, "error": str(exc)})
            return
        chain = answer.get("auth_chain") if isinstance(answer, dict) else None
        if not isinstance(chain, list):
            return
        fetched = [e for e in [await self._checked(room_id, version, p) for p in chain] if e]
        for event in sorted(fetched, key=lambda e: int(e["depth"])):
            if event["event_id"] in auth:
                continue
            try:
                check_pdu_auth_events(event, auth, version)
            except AuthError:
                continue
            auth[event["event_id"]] = event


def _auth_ids(event: Mapping[str, Any], room_id: str, version: RoomVersion) -> list[str]:
    ids = [a for a in event.get("auth_events", []) if isinstance(a, str)]
    if version.room_id_is_create_event_hash and event.get("type") != "m.room.create":
        ids.append(create_event_id_for_room(room_id))
    return ids
