"""Wakes the clients waiting for news (long-poll /sync now; WebSockets and
pushes later). Keyed by user and room: a change in a room wakes only the
waiters of users in that room, with no polling anywhere.

Everything a client may be woken for goes through `notify_room` or
`notify_users`, so that a cross-process feed (Redis pub/sub) can later call the
same two methods."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from homeserver.streams.positions import StreamPositions


@dataclass(eq=False)
class _Waiter:
    user_id: str
    rooms: frozenset[str]
    since: int
    event: asyncio.Event = field(default_factory=asyncio.Event)


class Notifier:
    def __init__(self, positions: StreamPositions) -> None:
        self._positions = positions
        self._room_positions: dict[str, int] = {}
        self._user_positions: dict[str, int] = {}
        self._by_user: dict[str, set[_Waiter]] = defaultdict(set)
        self._by_room: dict[str, set[_Waiter]] = defaultdict(set)
        # Changes whose position readers cannot reach yet (an earlier position
        # is still being written): announced once the stream gets there.
        self._pending: list[tuple[int, str | None, tuple[str, ...]]] = []
        positions.add_listener(self._flush)

    def notify_room(self, room_id: str, position: int, extra_users: Iterable[str] = ()) -> None:
        """Something at `position` happened in a room; `extra_users` are woken
        too (for example the target of an invite, not yet in the room)."""
        if position > self._positions.current:
            self._pending.append((position, room_id, tuple(extra_users)))
            return
        self._wake_room(room_id, position, extra_users)

    def notify_users(self, user_ids: Iterable[str], position: int) -> None:
        if position > self._positions.current:
            self._pending.append((position, None, tuple(user_ids)))
            return
        self._wake_users(user_ids, position)

    def _flush(self, current: int) -> None:
        ready = [item for item in self._pending if item[0] <= current]
        if not ready:
            return
        self._pending = [item for item in self._pending if item[0] > current]
        for position, room_id, users in ready:
            if room_id is None:
                self._wake_users(users, position)
            else:
                self._wake_room(room_id, position, users)

    def _wake_room(self, room_id: str, position: int, extra_users: Iterable[str]) -> None:
        self._room_positions[room_id] = max(position, self._room_positions.get(room_id, 0))
        for waiter in list(self._by_room.get(room_id, ())):
            waiter.event.set()
        self._wake_users(extra_users, position)

    def _wake_users(self, user_ids: Iterable[str], position: int) -> None:
        for user_id in user_ids:
            self._user_positions[user_id] = max(position, self._user_positions.get(user_id, 0))
            for waiter in list(self._by_user.get(user_id, ())):
                waiter.event.set()

    def has_news(self, user_id: str, rooms: Iterable[str], since: int) -> bool:
        if self._user_positions.get(user_id, 0) > since:
            return True
        return any(self._room_positions.get(room, 0) > since for room in rooms)

    async def wait(
        self, user_id: str, rooms: Iterable[str], since: int, timeout_seconds: float
    ) -> bool:
        """Waits until something newer than `since` happens for the user or in
        one of the rooms, or the timeout passes. Returns whether woken."""
        room_set = frozenset(rooms)
        if self.has_news(user_id, room_set, since):
            return True
        waiter = _Waiter(user_id, room_set, since)
        self._by_user[user_id].add(waiter)
        for room in room_set:
            self._by_room[room].add(waiter)
        try:
            async with asyncio.timeout(timeout_seconds):
                await waiter.event.wait()
            return True
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
