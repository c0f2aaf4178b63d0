"""Wakes the clients waiting for news: long-poll /sync and WebSocket streams.
Keyed by user and room, so a change in a room wakes only the waiters of users in
that room, with no polling anywhere.

Everything a client may be woken for goes through `notify_room`,
`notify_receipt`, `notify_users`, `notify_to_device`, `notify_device_lists` or
`notify_room_ephemeral`, so that a cross-process feed (Redis pub/sub) can
later call the same methods.

What was announced also serves as a version of the caches sync keeps: a room's
newest event and receipt positions and a user's newest change tell a cached
answer whether it can still be right, with no database query."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from homeserver.streams.positions import Positions
from homeserver.streams.tokens import StreamToken

# A position readers can reach but nobody announced after this long was a
# write that failed (a committed one is announced within a loop iteration or so).
UNANNOUNCED_EXPIRY_SECONDS = 30.0


@dataclass(frozen=True)
class _Change:
    position: int
    room_id: str | None
    users: tuple[str, ...]
    receipt_of: str | None = None  # the user whose read receipt this is
    # "to_device" (a message in the users' inboxes) or "device_lists" (the
    # devices or cross-signing keys of someone they share a room with changed).
    device_stream: str | None = None


@dataclass(eq=False)
class _Waiter:
    user_id: str
    rooms: frozenset[str]
    event: asyncio.Event = field(default_factory=asyncio.Event)


class Notifier:
    def __init__(self, positions: Positions) -> None:
        self._positions = positions
        self._rooms: dict[str, StreamToken] = {}
        self._users: dict[str, StreamToken] = {}
        self._by_user: dict[str, set[_Waiter]] = defaultdict(set)
        self._by_room: dict[str, set[_Waiter]] = defaultdict(set)
        self._room_events: dict[str, int] = {}
        self._room_receipts: dict[str, int] = {}
        self._user_receipts: dict[str, int] = {}
        # Newest membership event per room, newest to-device message and
        # device-list change per user, announced (for sync's E2EE sections).
        self._room_memberships: dict[str, int] = {}
        self._device_streams: dict[str, dict[str, int]] = {"to_device": {}, "device_lists": {}}
        # Changes whose position readers cannot reach yet (an earlier position
        # is still being written): announced once the stream gets there.
        self._pending: list[_Change] = []
        # Positions readers can reach that were not announced yet (an event
        # sender announces after the commit, a moment later), with when.
        self._unannounced: dict[int, float] = {}
        # Positions not readable yet whose writes failed: never announced.
        self._abandoned: set[int] = set()
        self._seen_current = positions.current
        self.closed = False
        # Every change at a position after this one has been announced here, so
        # the notifier can answer "what changed since" without the database.
        self._started_at = positions.current
        positions.add_listener(self._flush)
        # Set in a cluster: `relay(kind, payload)` tells the other workers of
        # each durable announcement (`announce_remote` there).
        self.relay: Callable[[str, dict[str, Any]], None] | None = None

    def close(self) -> None:
        """Shutting down: ends every wait now (waits answer as timed out), and
        later ones at once, so long polls answer instead of being cancelled."""
        self.closed = True
        for waiters in list(self._by_user.values()):
            for waiter in list(waiters):
                waiter.event.set()

    # -- announcing --------------------------------------------------------------

    def notify_room(self, room_id: str, position: int, extra_users: Iterable[str] = ()) -> None:
        """A room event at `position` was persisted; `extra_users` are woken too
        (for example the target of an invite, not yet in the room)."""
        users = tuple(extra_users)
        self._relay("room", {"room_id": room_id, "position": position, "users": list(users)})
        self._announce(_Change(position, room_id, users))

    def notify_receipt(self, room_id: str, user_id: str, position: int, *, private: bool) -> None:
        """A read receipt at `position`: seen by the room, or (private) by its
        owner only."""
        self._relay(
            "receipt",
            {"room_id": room_id, "user_id": user_id, "position": position, "private": private},
        )
        self._receipt(room_id, user_id, position, private)

    def _receipt(self, room_id: str, user_id: str, position: int, private: bool) -> None:
        if private:
            self._announce(_Change(position, None, (user_id,), receipt_of=user_id))
        else:
            self._announce(_Change(position, room_id, (), receipt_of=user_id))

    def notify_users(self, user_ids: Iterable[str], position: int) -> None:
        """Something durable at `position` concerns only these users."""
        users = tuple(user_ids)
        self._relay("users", {"users": list(users), "position": position})
        self._announce(_Change(position, None, users))

    def notify_to_device(self, user_ids: Iterable[str], position: int) -> None:
        """To-device messages at `position` for (devices of) these users."""
        users = tuple(user_ids)
        self._relay("to_device", {"users": list(users), "position": position})
        self._announce(_Change(position, None, users, device_stream="to_device"))

    def notify_device_lists(self, user_ids: Iterable[str], position: int) -> None:
        """Devices or cross-signing keys that these users track changed at `position`."""
        users = tuple(user_ids)
        self._relay("device_lists", {"users": list(users), "position": position})
        self._announce(_Change(position, None, users, device_stream="device_lists"))

    # -- several workers ---------------------------------------------------------

    def _relay(self, kind: str, payload: dict[str, Any]) -> None:
        if self.relay is not None:
            self.relay(kind, payload)

    def announce_remote(self, kind: str, payload: dict[str, Any]) -> None:
        """What another worker of the cluster announced (`relay`), announced
        here as if it had happened in this process (not relayed again)."""
        position = int(payload["position"])
        if kind == "room":
            users = tuple(str(u) for u in payload.get("users", ()))
            self._announce(_Change(position, str(payload["room_id"]), users))
        elif kind == "receipt":
            self._receipt(
                str(payload["room_id"]), str(payload["user_id"]), position, bool(payload["private"])
            )
        elif kind == "abandoned":
            self._abandon(position)
        elif kind in ("users", "to_device", "device_lists"):
            users = tuple(str(u) for u in payload.get("users", ()))
            stream = None if kind == "users" else kind
            self._announce(_Change(position, None, users, device_stream=stream))

    def abandoned(self, position: int) -> None:
        """Nothing will ever be announced at `position` (its write failed, or
        was refused and built again at another): readers need not wait for it."""
        self._relay("abandoned", {"position": position})
        self._abandon(position)

    def _abandon(self, position: int) -> None:
        if position > self._seen_current:
            self._abandoned.add(position)
        else:
            self._unannounced.pop(position, None)

    def sweep(self, older_than_seconds: float) -> None:
        """Readable positions unannounced for this long were missed (in a
        cluster: an announcement lost while Redis was away, or its worker died
        right after the commit): the notifier stops vouching for what came
        before them, and every waiter checks again (the database has it)."""
        cutoff = time.monotonic() - older_than_seconds
        missed = [p for p, since in self._unannounced.items() if since < cutoff]
        if not missed:
            return
        for position in missed:
            del self._unannounced[position]
        self.forget_history(max(missed))

    def forget_history(self, upto: int) -> None:
        """Announcements of positions up to `upto` may have been missed (the
        cluster feed was disconnected): from now on the notifier vouches only
        for what changed after it, and every waiter checks again."""
        self._started_at = max(self._started_at, upto)
        for waiters in list(self._by_user.values()):
            for waiter in list(waiters):
                waiter.event.set()

    def notify_room_ephemeral(self, room_id: str, stream: str, position: int) -> None:
        """An in-memory stream (`typing` or `presence`) changed for a room."""
        self._wake_room(room_id, replace(StreamToken(), **{stream: position}))

    def notify_users_ephemeral(self, user_ids: Iterable[str], stream: str, position: int) -> None:
        self._wake_users(user_ids, replace(StreamToken(), **{stream: position}))

    def _announce(self, change: _Change) -> None:
        if change.position > self._positions.current:
            self._pending.append(change)
            return
        self._unannounced.pop(change.position, None)
        if change.device_stream is not None:
            # Not news of the user's rooms or account: their caches stay valid.
            latest = self._device_streams[change.device_stream]
            for user_id in change.users:
                latest[user_id] = max(change.position, latest.get(user_id, 0))
                for waiter in list(self._by_user.get(user_id, ())):
                    waiter.event.set()
            return
        token = StreamToken(events=change.position)
        if change.receipt_of is not None:
            self._user_receipts[change.receipt_of] = max(
                change.position, self._user_receipts.get(change.receipt_of, 0)
            )
        if change.room_id is not None:
            latest = self._room_receipts if change.receipt_of is not None else self._room_events
            latest[change.room_id] = max(change.position, latest.get(change.room_id, 0))
            if change.users and change.receipt_of is None:  # a membership event
                self._room_memberships[change.room_id] = change.position
            self._wake_room(change.room_id, token)
        self._wake_users(change.users, token)

    def _flush(self, current: int) -> None:
        now = time.monotonic()
        for position in range(self._seen_current + 1, current + 1):
            if position in self._abandoned:
                self._abandoned.discard(position)
            else:
                self._unannounced[position] = now
        self._seen_current = max(self._seen_current, current)
        ready = [change for change in self._pending if change.position <= current]
        if not ready:
            return
        self._pending = [change for change in self._pending if change.position > current]
        for change in ready:
            self._announce(change)

    def _wake_room(self, room_id: str, token: StreamToken) -> None:
        self._rooms[room_id] = self._rooms.get(room_id, StreamToken()).merged(token)
        for waiter in list(self._by_room.get(room_id, ())):
            waiter.event.set()

    def _wake_users(self, user_ids: Iterable[str], token: StreamToken) -> None:
        for user_id in user_ids:
            self._users[user_id] = self._users.get(user_id, StreamToken()).merged(token)
            for waiter in list(self._by_user.get(user_id, ())):
                waiter.event.set()

    # -- waiting -----------------------------------------------------------------

    def settled(self, upto: int | None = None) -> bool:
        """Whether every change readers can reach (up to `upto`) has been
        announced. Until then what the notifier says may miss a change that is
        already committed, and callers must ask the database."""
        if not self._unannounced:
            return True
        expired = time.monotonic() - UNANNOUNCED_EXPIRY_SECONDS
        for position, since in list(self._unannounced.items()):
            if since < expired:
                # A failed write, or (in a cluster) an announcement that never
                # came: the notifier no longer vouches for what came before.
                del self._unannounced[position]
                self._started_at = max(self._started_at, position)
        return not any(upto is None or p <= upto for p in self._unannounced)

    def knows_since(self, position: int) -> bool:
        """Whether every durable change after `position` was announced here."""
        return position >= self._started_at

    def rooms_changed_since(self, rooms: Iterable[str], position: int) -> set[str]:
        """Rooms with a durable change (event, receipt) after `position`; only
        meaningful when `knows_since(position)`."""
        return {r for r in rooms if r in self._rooms and self._rooms[r].events > position}

    def user_changed_since(self, user_id: str, position: int) -> bool:
        """Whether something durable concerning only this user (account data,
        private receipts, membership targeting them) happened after `position`."""
        known = self._users.get(user_id)
        return known is not None and known.events > position

    def rooms_with_receipts_since(self, rooms: Iterable[str], position: int) -> set[str]:
        """Rooms with a (public) read receipt after `position`; only meaningful
        when `knows_since(position)`."""
        return {r for r in rooms if self._room_receipts.get(r, 0) > position}

    def room_event_position(self, room_id: str) -> int:
        """The newest room event announced in the room (0: none since start)."""
        return self._room_events.get(room_id, 0)

    def user_receipt_position(self, user_id: str) -> int:
        """The newest read receipt of the user announced (any room, private too)."""
        return self._user_receipts.get(user_id, 0)

    def user_position(self, user_id: str) -> int:
        """The newest durable change announced for the user alone (their
        memberships, account data, private receipts)."""
        known = self._users.get(user_id)
        return 0 if known is None else known.events

    def room_membership_position(self, room_id: str) -> int:
        """The newest membership event announced in the room (0: none since start)."""
        return self._room_memberships.get(room_id, 0)

    def to_device_position(self, user_id: str) -> int:
        """The newest to-device message announced for any device of the user."""
        return self._device_streams["to_device"].get(user_id, 0)

    def device_lists_position(self, user_id: str) -> int:
        """The newest device-list change announced to the user."""
        return self._device_streams["device_lists"].get(user_id, 0)

    def has_news(self, user_id: str, rooms: Iterable[str], since: StreamToken) -> bool:
        user = self._users.get(user_id)
        if user is not None and user.is_after(since):
            return True
        if (
            self.to_device_position(user_id) > since.to_device
            or self.device_lists_position(user_id) > since.events
        ):
            return True
        for room in rooms:
            known = self._rooms.get(room)
            if known is not None and known.is_after(since):
                return True
        return False

    async def wait(
        self, user_id: str, rooms: Iterable[str], since: StreamToken, timeout_seconds: float
    ) -> bool:
        """Waits until something newer than `since` happens for the user or in
        one of the rooms, or the timeout passes. Returns whether woken."""
        if self.closed:
            return False
        room_set = frozenset(rooms)
        if self.has_news(user_id, room_set, since):
            return True
        waiter = _Waiter(user_id, room_set)
        self._by_user[user_id].add(waiter)
        for room in room_set:
            self._by_room[room].add(waiter)
        try:
            async with asyncio.timeout(timeout_seconds):
                await waiter.event.wait()
            return not self.closed
        except TimeoutError:
            return False
        finally:
            self._remove(waiter)

    def _remove(self, waiter: _Waiter) -> None:
        self._discard(self._by_user, waiter.user_id, waiter)
        for room in waiter.rooms:
            self._discard(self._by_room, room, waiter)

    @staticmethod
    def _discard(index: dict[str, set[_Waiter]], key: str, waiter: _Waiter) -> None:
        waiters = index.get(key)
        if waiters is None:
            return
        waiters.discard(waiter)
        if not waiters:
            del index[key]

    def waiting_count(self) -> int:
        return sum(len(w) for w in self._by_user.values())
