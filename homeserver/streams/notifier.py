"""Wakes the clients waiting for news: long-poll /sync and WebSocket streams.
Keyed by user and room, so a change in a room wakes only the waiters of users in
that room, with no polling anywhere.

Everything a client may be woken for goes through `notify_room`,
`notify_users` or `notify_room_ephemeral`, so that a cross-process feed (Redis
pub/sub) can later call the same methods."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from homeserver.streams.positions import StreamPositions
from homeserver.streams.tokens import StreamToken


@dataclass(eq=False)
class _Waiter:
    user_id: str
    rooms: frozenset[str]
    event: asyncio.Event = field(default_factory=asyncio.Event)


class Notifier:
    def __init__(self, positions: StreamPositions) -> None:
        self._positions = positions
        self._rooms: dict[str, StreamToken] = {}
        self._users: dict[str, StreamToken] = {}
        self._by_user: dict[str, set[_Waiter]] = defaultdict(set)
        self._by_room: dict[str, set[_Waiter]] = defaultdict(set)
        # Changes whose position readers cannot reach yet (an earlier position
        # is still being written): announced once the stream gets there.
        self._pending: list[tuple[int, str | None, tuple[str, ...]]] = []
        self.closed = False
        # Every change at a position after this one has been announced here, so
        # the notifier can answer "what changed since" without the database.
        self._started_at = positions.current
        positions.add_listener(self._flush)

    def close(self) -> None:
        """Shutting down: ends every wait now (waits answer as timed out), and
        later ones at once, so long polls answer instead of being cancelled."""
        self.closed = True
        for waiters in list(self._by_user.values()):
            for waiter in list(waiters):
                waiter.event.set()

    # -- announcing --------------------------------------------------------------

    def notify_room(self, room_id: str, position: int, extra_users: Iterable[str] = ()) -> None:
        """Something durable at `position` happened in a room; `extra_users` are
        woken too (for example the target of an invite, not yet in the room)."""
        if position > self._positions.current:
            self._pending.append((position, room_id, tuple(extra_users)))
            return
        self._wake_room(room_id, StreamToken(events=position))
        self._wake_users(extra_users, StreamToken(events=position))

    def notify_users(self, user_ids: Iterable[str], position: int) -> None:
        """Something durable at `position` concerns only these users."""
        if position > self._positions.current:
            self._pending.append((position, None, tuple(user_ids)))
            return
        self._wake_users(user_ids, StreamToken(events=position))

    def notify_room_ephemeral(self, room_id: str, stream: str, position: int) -> None:
        """An in-memory stream (`typing` or `presence`) changed for a room."""
        self._wake_room(room_id, replace(StreamToken(), **{stream: position}))

    def notify_users_ephemeral(self, user_ids: Iterable[str], stream: str, position: int) -> None:
        self._wake_users(user_ids, replace(StreamToken(), **{stream: position}))

    def _flush(self, current: int) -> None:
        ready = [item for item in self._pending if item[0] <= current]
        if not ready:
            return
        self._pending = [item for item in self._pending if item[0] > current]
        for position, room_id, users in ready:
            token = StreamToken(events=position)
            if room_id is not None:
                self._wake_room(room_id, token)
            self._wake_users(users, token)

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

    def has_news(self, user_id: str, rooms: Iterable[str], since: StreamToken) -> bool:
        user = self._users.get(user_id)
        if user is not None and user.is_after(since):
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
