"""Creating, authorising and persisting events on behalf of local users.

Every event a local user causes goes through `EventSender.send`: it builds the
event on the room's current forward extremities, checks the room version 11
authorization rules against the current state, hashes and signs it, persists it
with its edges and state changes in one transaction, and wakes the notifier.
A per-room lock serialises building so that each event extends the last."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from homeserver.errors import MatrixError, forbidden
from homeserver.events import (
    AuthError,
    auth_types_for_event,
    canonical_json,
    check_auth,
    check_client_redaction,
    compute_reference_hash_event_id,
    hash_and_sign_event,
    redact_event,
)
from homeserver.handlers.keys import ServerKeys
from homeserver.handlers.push_actions import PushActions, may_notify
from homeserver.handlers.room_cache import RoomCache
from homeserver.storage import Storage
from homeserver.storage.events import NewRoom, StoredEvent, TxnRecord
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import StreamPositions
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

MAX_PREV_EVENTS = 10
MAX_EVENT_BYTES = 65_536


@dataclass(frozen=True)
class SentEvent:
    event_id: str
    stream_ordering: int | None


class EventSender:
    def __init__(
        self,
        storage: Storage,
        keys: ServerKeys,
        server_name: str,
        positions: StreamPositions,
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
        self._listeners: list[Callable[[dict[str, Any]], Awaitable[None]]] = []

    def add_listener(self, listener: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """`listener(event)` runs after each event is persisted and announced."""
        self._listeners.append(listener)

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
        new_room: NewRoom | None = None,
    ) -> SentEvent:
        try:
            canonical_json(content)
        except ValueError as exc:
            raise MatrixError(400, "M_BAD_JSON", f"Event content is not valid: {exc}") from exc
        if txn is not None:
            existing = await self._storage.events.get_event_id_for_txn(
                sender, txn.device_id, txn.txn_id
            )
            if existing is not None:
                return SentEvent(existing, None)
        try:
            async with self._room_lock(room_id):
                return await self._build_and_persist(
                    room_id, sender, event_type, content, state_key, txn, new_room
                )
        except IntegrityError:
            # Two requests raced with the same transaction id: the other won.
            if txn is not None:
                existing = await self._storage.events.get_event_id_for_txn(
                    sender, txn.device_id, txn.txn_id
                )
                if existing is not None:
                    return SentEvent(existing, None)
            raise

    async def _build_and_persist(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        state_key: str | None,
        txn: TxnRecord | None,
        new_room: NewRoom | None,
    ) -> SentEvent:
        event: dict[str, Any] = {
            "room_id": room_id,
            "sender": sender,
            "type": event_type,
            "content": content,
            "origin_server_ts": now_ms(),
        }
        if state_key is not None:
            event["state_key"] = state_key

        room = self._rooms.new_room(room_id) if new_room is not None else None
        room = room or await self._rooms.get(room_id)
        if room is None:
            # The same answer as for a room one is not in: existence does not leak.
            raise forbidden("You are not a member of this room")
        state = room.state

        auth_keys = auth_types_for_event(event)
        auth_state = {key: state[key] for key in auth_keys if key in state}
        event["auth_events"] = sorted(e["event_id"] for e in auth_state.values())
        extremities = sorted(room.extremities, key=lambda pair: pair[1], reverse=True)
        extremities = extremities[:MAX_PREV_EVENTS]
        event["prev_events"] = [event_id for event_id, _ in extremities]
        event["depth"] = max((depth for _, depth in extremities), default=0) + 1

        try:
            check_auth(event, auth_state)
        except AuthError as exc:
            raise forbidden(str(exc)) from exc

        redacted_target = await self._redaction_target(event, auth_state)

        hash_and_sign_event(event, self._server_name, self._keys.event_key_id, self._keys.event_key)
        event["event_id"] = compute_reference_hash_event_id(event)
        if len(canonical_json(event)) > MAX_EVENT_BYTES:
            raise MatrixError(413, "M_TOO_LARGE", "Event is larger than 64 KiB")

        replaced = state.get((event_type, state_key)) if state_key is not None else None
        actions = []
        if new_room is None and may_notify(event):
            actions = await self._push_actions.for_event(event, room.joined_members(), auth_state)
        async with self._positions.allocate() as position:
            await self._storage.events.persist_event(
                event,
                position,
                replaces_state=replaced["event_id"] if replaced else None,
                txn=txn,
                new_room=new_room,
                redacted_target=redacted_target,
                push_actions=actions,
            )
        self._rooms.after_persist(room, event, redacted_target)
        extra_users = [state_key] if event_type == "m.room.member" and state_key else []
        self._notifier.notify_room(room_id, position, extra_users)
        for listener in self._listeners:
            try:
                await listener(event)
            except Exception:
                logger.exception("event listener failed", extra={"event_id": event["event_id"]})
        return SentEvent(event["event_id"], position)

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
