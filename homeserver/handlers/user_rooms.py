"""Each user's room memberships (what `get_rooms_for_user` answers), in memory,
so that a woken sync does not ask the database which rooms its user is in.

An entry is loaded on first use and stamped with the notifier's position for
the user (`Notifier.user_position`). Every membership event wakes its target
user through the notifier as it is announced (the event sender names the
state_key as an extra user); so a moved position means the entry may be
stale and is loaded again. The event sender announces an event a moment after
its commit makes it readable: while anything readable is unannounced
(`Notifier.settled`), entries are not trusted either. That check is made
on each read rather than in an `EventSender` listener, because listeners run
after the woken syncs may already have read the cache. Other news for the user
alone (account data, private receipts) reloads too: rare, and never wrong.
Forgetting a room writes no event: `forget_room` goes through here."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from homeserver.storage import Storage
from homeserver.storage.events import MembershipRow
from homeserver.streams.notifier import Notifier

ALL_MEMBERSHIPS = ("join", "invite", "leave", "ban", "knock")
DEFAULT_MAX_USERS = 50_000


@dataclass(frozen=True)
class _Entry:
    stamp: tuple[int, int]
    rows: tuple[MembershipRow, ...]


class UserRooms:
    def __init__(
        self, storage: Storage, notifier: Notifier, max_users: int = DEFAULT_MAX_USERS
    ) -> None:
        self._storage = storage
        self._notifier = notifier
        self._max_users = max_users
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # Bumped by forget_room, so that a load running meanwhile is not kept.
        self._forgets: dict[str, int] = {}
        self.loads = 0

    def _stamp(self, user_id: str) -> tuple[int, int]:
        return self._notifier.user_position(user_id), self._forgets.get(user_id, 0)

    async def rooms_for_user(
        self, user_id: str, membership_in: Sequence[str] = ("join",)
    ) -> list[MembershipRow]:
        """The user's memberships of these kinds in rooms they have not forgotten."""
        stamp = self._stamp(user_id)
        entry = self._entries.get(user_id)
        if entry is None or entry.stamp != stamp or not self._notifier.settled():
            self.loads += 1
            rows = await self._storage.events.get_rooms_for_user(user_id, ALL_MEMBERSHIPS)
            entry = _Entry(stamp, tuple(rows))
            if self._stamp(user_id) == stamp:
                self._put(user_id, entry)
        else:
            self._entries.move_to_end(user_id)
        return [row for row in entry.rows if row.membership in membership_in]

    async def forget_room(self, room_id: str, user_id: str) -> None:
        await self._storage.events.forget_room(room_id, user_id)
        self._forgets[user_id] = self._forgets.get(user_id, 0) + 1
        self._entries.pop(user_id, None)

    def clear(self) -> None:
        self._entries.clear()

    def _put(self, user_id: str, entry: _Entry) -> None:
        self._entries[user_id] = entry
        self._entries.move_to_end(user_id)
        while len(self._entries) > self._max_users:
            self._entries.popitem(last=False)
