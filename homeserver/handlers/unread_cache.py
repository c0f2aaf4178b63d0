"""Unread counts per user and room, kept in memory and counted forward.

A room's counts for a user change only when an event that notifies them
commits in the room (its notification decisions are known then) or when the
user's own read receipt moves. So a remembered count is read from the database
once, then kept current as events commit (an `EventSender` commit listener,
which runs before the event is readable): a sync after a new message costs no
count query, however many unread notifications the user has piled up.

Each entry says up to which position it counts the room's events
(`covered`): the database read counts exactly the events up to a position
that every committed event has already passed through the listener, and the
listener extends an entry only if it covered the room's previous event. An
entry that missed an event (it was being read meanwhile) or whose user's
receipt moved since it was read is read again."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from homeserver.storage import Storage
from homeserver.storage.events import PendingEvent
from homeserver.storage.receipts import UnreadCounts
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import Positions

DEFAULT_MAX_ENTRIES = 100_000


@dataclass
class _Entry:
    covered: int  # every event of the room up to here is counted
    receipt_position: int  # the user's newest announced receipt when read
    notifications: int
    highlights: int


class UnreadCache:
    def __init__(
        self,
        storage: Storage,
        notifier: Notifier,
        positions: Positions,
        last_committed: Callable[[str], int],
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self._storage = storage
        self._notifier = notifier
        self._positions = positions
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._users_by_room: dict[str, set[str]] = {}
        # The position of each room's newest committed event (`EventSender`).
        self._last_committed = last_committed
        # A cluster worker: entries are trusted only while every readable
        # position has been announced (another worker's event may be readable
        # a moment before its announcement arrives).
        self.cluster = False

    def on_committed(self, pending: PendingEvent, previous: int) -> None:
        """`EventSender` commit listener: counts the event for each user it
        notifies, in every entry that counted the room's previous event."""
        room_id = pending.room_id
        actions = {action.user_id: action for action in pending.push_actions}
        for user_id in self._users_by_room.get(room_id, ()):
            entry = self._entries.get((user_id, room_id))
            if entry is None:
                continue
            if entry.covered < previous:
                continue
            entry.covered = pending.stream_ordering
            action = actions.get(user_id)
            if action is not None:
                entry.notifications += int(action.notify)
                entry.highlights += int(action.highlight)

    def forget_room(self, room_id: str) -> None:
        """Drops the room's entries (in a cluster: an event of the room was
        committed, here or on another worker)."""
        for user_id in self._users_by_room.pop(room_id, set()):
            self._entries.pop((user_id, room_id), None)

    def clear(self) -> None:
        self._entries.clear()
        self._users_by_room.clear()

    def forget_committed(self, pending: PendingEvent, previous: int) -> None:
        """The commit listener of a cluster worker, instead of `on_committed`
        (`previous` knows only this worker's events): counts are read again."""
        self.forget_room(pending.room_id)

    async def unread_counts(self, user_id: str, room_ids: Sequence[str]) -> dict[str, UnreadCounts]:
        """What `ReceiptStore.unread_counts` answers: the counts of each room
        (zero counts may be included)."""
        counts: dict[str, UnreadCounts] = {}
        stale: list[str] = []
        receipt_position = self._notifier.user_receipt_position(user_id)
        for room_id in room_ids:
            entry = self._entries.get((user_id, room_id))
            if (
                entry is not None
                and (not self.cluster or self._notifier.settled())
                and entry.receipt_position == receipt_position
                and entry.covered >= self._last_committed(room_id)
            ):
                self._entries.move_to_end((user_id, room_id))
                counts[room_id] = UnreadCounts(entry.notifications, entry.highlights)
            else:
                stale.append(room_id)
        if not stale:
            return counts
        # Every event up to the readable position has been through
        # `on_committed`: counting exactly those makes the entries exact.
        upto = self._positions.current
        found = await self._storage.receipts.unread_counts(user_id, stale, upto=upto)
        for room_id in stale:
            read = found.get(room_id, UnreadCounts(0, 0))
            counts[room_id] = read
            self._put(user_id, room_id, _Entry(upto, receipt_position, *_pair(read)))
        return counts

    def _put(self, user_id: str, room_id: str, entry: _Entry) -> None:
        self._entries[(user_id, room_id)] = entry
        self._entries.move_to_end((user_id, room_id))
        self._users_by_room.setdefault(room_id, set()).add(user_id)
        while len(self._entries) > self._max_entries:
            (old_user, old_room), _ = self._entries.popitem(last=False)
            users = self._users_by_room.get(old_room, set())
            users.discard(old_user)
            if not users:
                self._users_by_room.pop(old_room, None)


def _pair(counts: UnreadCounts) -> tuple[int, int]:
    return counts.notifications, counts.highlights
