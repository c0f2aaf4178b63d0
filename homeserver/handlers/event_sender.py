"""Creating, authorising and persisting events on behalf of local users.

Every event a local user causes goes through `EventSender.send` (a new room's
create event through `EventSender.create_room`): it builds the event on the
room's current forward extremities, checks the authorization rules of the
room's version against the current state, hashes and signs it, hands it to
the persister (which commits concurrent events together, with their edges and
state changes), and once it is committed wakes the notifier. A per-room lock
serialises building so that each event extends the last; it is released before
the commit, so the next event of the room is built while this one is written."""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from homeserver.errors import MatrixError, forbidden
from homeserver.events import (
    MAX_PDU_BYTES,
    AuthError,
    RoomVersion,
    auth_types_for_event,
    canonical_json,
    check_auth,
    check_client_redaction,
    compute_reference_hash_event_id,
    hash_and_sign_event,
    redact_event,
    room_id_of,
    room_version_of_create,
)
from homeserver.handlers.event_persister import EventPersister
from homeserver.handlers.keys import ServerKeys
from homeserver.handlers.push_actions import PushActions, may_notify
from homeserver.handlers.room_cache import CachedRoom, RoomCache
from homeserver.storage import Storage
from homeserver.storage.events import (
    NewRoom,
    PendingEvent,
    StoredEvent,
    TxnRecord,
    is_stale_room,
)
from homeserver.storage.receipts import PushAction
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import Positions
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

MAX_PREV_EVENTS = 10
MAX_EVENT_BYTES = MAX_PDU_BYTES
_CREATE = ("m.room.create", "")
# Building starts again if the room's cached state was dropped meanwhile (an
# earlier event of the room failed to persist); this many times at most.
MAX_BUILD_ATTEMPTS = 3
# A cluster worker builds an event again this many times at most when other
# workers keep writing in the room first (see `EventStore.persist_events`).
MAX_STALE_ATTEMPTS = 30


@dataclass(frozen=True)
class SentEvent:
    event_id: str
    stream_ordering: int | None


@dataclass(frozen=True)
class _EventRequest:
    """What a local user asked to send."""

    room_id: str
    sender: str
    event_type: str
    content: dict[str, Any]
    state_key: str | None
    txn: TxnRecord | None
    new_room: NewRoom | None
    # A new room's create event, built before its room id is known (room version 12
    # derives the id from the event).
    prebuilt: dict[str, Any] | None = None
    # Runs on the built, signed event before it is persisted; raising stops it
    # (an invite to another server's user goes there first).
    vet: Callable[[dict[str, Any]], Awaitable[None]] | None = None


class EventSender:
    def __init__(
        self,
        storage: Storage,
        keys: ServerKeys,
        server_name: str,
        positions: Positions,
        notifier: Notifier,
        push_actions: PushActions,
    ) -> None:
        self._storage = storage
        self._keys = keys
        self._server_name = server_name
        self._positions = positions
        self._notifier = notifier
        self._push_actions = push_actions
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._rooms = RoomCache(storage)
        self._persister = EventPersister(
            storage,
            positions,
            self._announce_committed,
            self._forget_rooms,
            on_abandoned=notifier.abandoned,
        )
        self._commit_listeners: list[Callable[[PendingEvent, int], None]] = []
        # Each room's newest committed event since the process started; older
        # events are all at or below the position it started from.
        self._started_at = positions.current
        self._last_committed: dict[str, int] = {}
        self._txns_in_flight: dict[tuple[str, str, str], asyncio.Future[SentEvent]] = {}
        self._last_create_ts = 0
        self._listeners: list[Callable[[dict[str, Any]], Awaitable[None]]] = []
        # A cluster worker: events say which extremities they were built on,
        # and are built again when another worker's commit got there first.
        self.cluster = False

    def add_listener(self, listener: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """`listener(event)` runs after each event is persisted and announced."""
        self._listeners.append(listener)

    def add_commit_listener(self, listener: Callable[[PendingEvent, int], None]) -> None:
        """`listener(committed, previous)` runs for each event as soon as it is
        committed, in stream order and before its position is readable: the
        place to keep in-memory views of the rooms current. `previous` is the
        position of the room's event before it (every event of the room up to
        there has been through the listener). It must not block or fail."""
        self._commit_listeners.append(listener)

    async def current_room(self, room_id: str) -> CachedRoom | None:
        """The room's current state and forward extremities as events are
        built on them (including events not committed yet); None for a room
        with no state here. Read only: copy what you keep across an await."""
        return await self._rooms.get(room_id)

    @property
    def events_persisted(self) -> int:
        """Events committed by this process since it started."""
        return self._persister.events

    def last_committed(self, room_id: str) -> int:
        """The position of the room's newest committed event (at most the
        position the process started from, if none since)."""
        return self._last_committed.get(room_id, self._started_at)

    def _announce_committed(self, committed: Sequence[PendingEvent]) -> None:
        for pending in committed:
            previous = self.last_committed(pending.room_id)
            self._last_committed[pending.room_id] = pending.stream_ordering
            for listener in self._commit_listeners:
                listener(pending, previous)
            event = pending.event
            state_key = pending.state_key
            extra_users = [state_key] if event["type"] == "m.room.member" and state_key else []
            self._notifier.notify_room(pending.room_id, pending.stream_ordering, extra_users)

    async def drain(self) -> None:
        """Returns once every event handed to the persister is committed or
        has failed (before shutting down the database)."""
        await self._persister.drain()

    def note_remote_event(self, room_id: str, position: int) -> None:
        """Another worker of the cluster committed an event of the room: its
        cached state and extremities are stale (an event being built on them
        meanwhile is refused at commit, see `EventStore.persist_events`)."""
        if position > self._last_committed.get(room_id, self._started_at):
            self._last_committed[room_id] = position
        self._rooms.forget(room_id)

    def forget_rooms(self) -> None:
        """Every cached room is reloaded on its next use."""
        self._rooms.clear()

    def _forget_rooms(self, room_ids: set[str]) -> None:
        for room_id in room_ids:
            self._rooms.forget(room_id)

    def _room_lock(self, room_id: str) -> asyncio.Lock:
        lock = self._locks.get(room_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[room_id] = lock
        return lock

    async def send(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        *,
        state_key: str | None = None,
        txn: TxnRecord | None = None,
        vet: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> SentEvent:
        try:
            canonical_json(content)
        except ValueError as exc:
            raise MatrixError(400, "M_BAD_JSON", f"Event content is not valid: {exc}") from exc
        request = _EventRequest(room_id, sender, event_type, content, state_key, txn, None, vet=vet)
        if txn is None:
            return await self._send(request)
        key = (sender, txn.device_id, txn.txn_id)
        same = self._txns_in_flight.get(key)
        if same is not None:
            # The same request twice at once: both get the one event.
            return SentEvent((await asyncio.shield(same)).event_id, None)
        sending = asyncio.ensure_future(self._send(request))
        self._txns_in_flight[key] = sending
        try:
            return await sending
        finally:
            del self._txns_in_flight[key]

    async def create_room(
        self,
        creator: str,
        content: dict[str, Any],
        room_version: RoomVersion,
        *,
        room_id: str | None,
        is_public: bool,
    ) -> str:
        """Sends a new room's m.room.create event and returns the room's id: the
        `room_id` given, or from room version 12 (which takes none) the id the
        create event defines."""
        try:
            canonical_json(content)
        except ValueError as exc:
            raise MatrixError(400, "M_BAD_JSON", f"Event content is not valid: {exc}") from exc
        # From room version 12 the room id is the create event's hash: two
        # rooms one user creates with the same content in the same millisecond
        # would get the same id, so each create event here gets its own time.
        created_ts = max(now_ms(), self._last_create_ts + 1)
        self._last_create_ts = created_ts
        event: dict[str, Any] = {
            "sender": creator,
            "type": "m.room.create",
            "state_key": "",
            "content": content,
            "origin_server_ts": created_ts,
            "auth_events": [],
            "prev_events": [],
            "depth": 1,
        }
        if not room_version.room_id_is_create_event_hash:
            event["room_id"] = room_id
        try:
            check_auth(event, {}, room_version)
        except AuthError as exc:
            raise MatrixError(400, "M_BAD_JSON", f"Invalid creation content: {exc}") from exc
        self._hash_sign_and_measure(event)
        new_room_id = str(room_id_of(event))
        new_room = NewRoom(new_room_id, room_version.identifier, creator, is_public, now_ms())
        await self._send(
            _EventRequest(new_room_id, creator, "m.room.create", content, "", None, new_room, event)
        )
        return new_room_id

    async def persist_received(
        self,
        event: dict[str, Any],
        *,
        new_room: NewRoom | None = None,
        extremity: bool = True,
        updates_state: bool = True,
    ) -> int:
        """Persists an event another server built (already checked by the
        federation code) through the same path as local events: the room's
        cached state, the group commit, the notifier, push and listeners.
        Returns its stream position. `new_room` registers a room we learn of
        by joining it; `extremity=False` keeps the event out of the room's
        forward extremities (the state handed over on a join);
        `updates_state=False` keeps a state event out of the current state
        (it lost state resolution)."""
        room_id = str(room_id_of(event))
        async with self._room_lock(room_id):
            room = self._rooms.new_room(room_id) if new_room is not None else None
            room = room or await self._rooms.get(room_id)
            if room is None:
                raise MatrixError(404, "M_NOT_FOUND", "Unknown room")
            state_key = event.get("state_key")
            replaced = (
                room.state.get((event["type"], state_key))
                if state_key is not None and updates_state
                else None
            )
            redacted_target = await self._received_redaction_target(event, room)
            actions: list[PushAction] = []
            if new_room is None and extremity and may_notify(event):
                room_version = room_version_of_create(room.state.get(_CREATE))
                auth_state = {
                    key: room.state[key]
                    for key in (*auth_types_for_event(event, room_version), _CREATE)
                    if key in room.state
                }
                actions = await self._push_actions.for_event(
                    event, room.joined_members(), auth_state
                )
            position = await self._positions.next_position()
            self._rooms.apply_received(
                room, event, redacted_target, extremity=extremity, updates_state=updates_state
            )
            room.in_flight += 1
            done = self._persister.submit(
                PendingEvent(
                    event,
                    position,
                    replaces_state=replaced["event_id"] if replaced else None,
                    new_room=new_room,
                    redacted_target=redacted_target,
                    push_actions=tuple(actions),
                    extremity=extremity,
                    updates_state=updates_state,
                )
            )
        committed = await self._committed(room, done, position)
        for listener in self._listeners:
            try:
                await listener(event)
            except Exception:
                logger.exception("event listener failed", extra={"event_id": event["event_id"]})
        return committed

    async def _received_redaction_target(
        self, event: dict[str, Any], room: CachedRoom
    ) -> dict[str, Any] | None:
        """The redacted form of what a received redaction redacts, if the
        target is in the room and the redaction's sender may redact it."""
        if event["type"] != "m.room.redaction":
            return None
        try:
            return await self._redaction_target(event, room.state)
        except MatrixError:
            return None

    async def _send(self, request: _EventRequest) -> SentEvent:
        txn = request.txn
        if txn is not None:
            existing = await self._storage.events.get_event_id_for_txn(
                request.sender, txn.device_id, txn.txn_id
            )
            if existing is not None:
                return SentEvent(existing, None)
        try:
            for attempt in range(MAX_STALE_ATTEMPTS):
                try:
                    async with self._room_lock(request.room_id):
                        event, committed = await self._build_and_submit(request)
                    position = await committed
                    break
                except Exception as exc:
                    # Another worker wrote in the room meanwhile: nothing of
                    # this event was written, and the room is reloaded.
                    if not is_stale_room(exc) or attempt == MAX_STALE_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        except IntegrityError:
            # Two requests raced with the same transaction id: the other won.
            if txn is not None:
                existing = await self._storage.events.get_event_id_for_txn(
                    request.sender, txn.device_id, txn.txn_id
                )
                if existing is not None:
                    return SentEvent(existing, None)
            raise
        for listener in self._listeners:
            try:
                await listener(event)
            except Exception:
                logger.exception("event listener failed", extra={"event_id": event["event_id"]})
        return SentEvent(event["event_id"], position)

    async def _build_and_submit(
        self, request: _EventRequest
    ) -> tuple[dict[str, Any], Awaitable[int]]:
        """Builds the event on the room's cached state and queues it to be
        written; returns it and what completes (with its stream position) once
        it is committed."""
        room_id = request.room_id
        for _ in range(MAX_BUILD_ATTEMPTS):
            room = self._rooms.new_room(room_id) if request.new_room is not None else None
            room = room or await self._rooms.get(room_id)
            if room is None:
                # The same answer as for a room one is not in: existence does not leak.
                raise forbidden("You are not a member of this room")
            built = await self._build(room, request)
            if request.vet is not None:
                await request.vet(built[0])
            if self._rooms.peek(room_id) is not room:
                continue
            event, redacted_target, actions = built
            state_key = request.state_key
            replaced = (
                room.state.get((request.event_type, state_key)) if state_key is not None else None
            )
            expected = tuple(e for e, _ in room.extremities) if self.cluster else None
            position = await self._positions.next_position()
            self._rooms.apply(room, event, redacted_target)
            room.in_flight += 1
            done = self._persister.submit(
                PendingEvent(
                    event,
                    position,
                    replaces_state=replaced["event_id"] if replaced else None,
                    txn=request.txn,
                    new_room=request.new_room,
                    redacted_target=redacted_target,
                    push_actions=tuple(actions),
                    expected_extremities=expected,
                )
            )
            return event, self._committed(room, done, position)
        raise MatrixError(503, "M_UNKNOWN", "The room is busy; try again")

    @staticmethod
    async def _committed(room: CachedRoom, done: Awaitable[None], position: int) -> int:
        try:
            await done
        finally:
            room.in_flight -= 1
        return position

    async def _build(
        self, room: CachedRoom, request: _EventRequest
    ) -> tuple[dict[str, Any], dict[str, Any] | None, list[PushAction]]:
        if request.prebuilt is not None:
            return request.prebuilt, None, []
        event: dict[str, Any] = {
            "room_id": request.room_id,
            "sender": request.sender,
            "type": request.event_type,
            "content": request.content,
            "origin_server_ts": now_ms(),
        }
        if request.state_key is not None:
            event["state_key"] = request.state_key
        state = room.state
        room_version = room_version_of_create(state.get(_CREATE))
        auth_keys = auth_types_for_event(event, room_version)
        auth_state = {key: state[key] for key in auth_keys if key in state}
        event["auth_events"] = sorted(e["event_id"] for e in auth_state.values())
        # The rules always need the create event; room version 12 implies it by the
        # room id instead of listing it.
        if _CREATE in state:
            auth_state[_CREATE] = state[_CREATE]
        extremities = sorted(room.extremities, key=lambda pair: pair[1], reverse=True)
        extremities = extremities[:MAX_PREV_EVENTS]
        event["prev_events"] = [event_id for event_id, _ in extremities]
        event["depth"] = max((depth for _, depth in extremities), default=0) + 1

        try:
            check_auth(event, auth_state, room_version)
        except AuthError as exc:
            raise forbidden(str(exc)) from exc

        redacted_target = await self._redaction_target(event, auth_state)
        self._hash_sign_and_measure(event)

        actions: list[PushAction] = []
        # A new room's first events notify nobody: nobody else is in it yet.
        if request.new_room is None and may_notify(event):
            actions = await self._push_actions.for_event(event, room.joined_members(), auth_state)
        return event, redacted_target, actions

    def _hash_sign_and_measure(self, event: dict[str, Any]) -> None:
        hash_and_sign_event(event, self._server_name, self._keys.event_key_id, self._keys.event_key)
        event["event_id"] = compute_reference_hash_event_id(event)
        if len(canonical_json(event)) > MAX_EVENT_BYTES:
            raise MatrixError(413, "M_TOO_LARGE", "Event is larger than 64 KiB")

    async def _redaction_target(
        self, event: dict[str, Any], auth_state: dict[tuple[str, str], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """For an m.room.redaction, checks that the sender may redact the target
        (their own event, or with the room's redact power) and returns the
        target's redacted form."""
        if event["type"] != "m.room.redaction":
            return None
        target_id = event["content"].get("redacts")
        if not isinstance(target_id, str):
            raise MatrixError(400, "M_BAD_JSON", "A redaction needs content.redacts")
        target = await self._storage.events.get_event(target_id)
        if target is None or target.room_id != event["room_id"]:
            raise MatrixError(404, "M_NOT_FOUND", "Event to redact not found")
        try:
            check_client_redaction(event, target.event, auth_state)
        except AuthError as exc:
            raise forbidden(str(exc)) from exc
        return _redacted_copy(target)


def _redacted_copy(target: StoredEvent) -> dict[str, Any]:
    redacted = redact_event(target.event)
    redacted["event_id"] = target.event_id
    return redacted
