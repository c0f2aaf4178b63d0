"""The newest events of recently active rooms, in memory, for sync timelines.

After one message in a room of 200 members, 200 woken syncs ask the same
question: the room's events after their token. The first one asks the
database; the answer is kept here and serves the others (concurrent misses of
a room share that one query), and later syncs too while the room is quiet.

Each room keeps one window: every event of the room with `floor < position <=
top`, the newest `max_events` at most, as the database returned them. Whether
the room has anything newer than `top` is the notifier's to say: every event
is announced there (`Notifier.room_event_position`), so when everything
readable has been announced (`Notifier.settled`) and no event of the room was
announced after `top`, a read up to a readable position is complete. (Events
older than the notifier know nothing of that.)

Each committed event joins its room's window as it commits (an `EventSender`
commit listener, before the event is readable), so after the first read of a
room its syncs need no query. Redactions change stored events in place: the
same listener applies them to the windows, and a window also applies any
redaction it loads to the events it holds, so it never serves an event the
database has redacted."""

from __future__ import annotations

import asyncio
import bisect
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from homeserver.events import redact_event
from homeserver.storage import Storage
from homeserver.storage.events import PendingEvent, StoredEvent
from homeserver.streams.notifier import Notifier

DEFAULT_MAX_ROOMS = 1000
DEFAULT_MAX_EVENTS = 100


@dataclass
class _Window:
    floor: int
    top: int
    events: list[StoredEvent]  # oldest first
    positions: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.positions = [e.stream_ordering for e in self.events]

    def newest(self, after: int, upto: int, limit: int) -> list[StoredEvent]:
        """Events in (after, upto], newest first, at most `limit`."""
        start = bisect.bisect_right(self.positions, after)
        end = bisect.bisect_right(self.positions, upto)
        start = max(start, end - limit)
        return self.events[start:end][::-1]

    def count(self, after: int, upto: int) -> int:
        return bisect.bisect_right(self.positions, upto) - bisect.bisect_right(
            self.positions, after
        )


@dataclass
class _Load:
    after: int | None
    upto: int
    done: asyncio.Future[None]


class RecentEvents:
    def __init__(
        self,
        storage: Storage,
        notifier: Notifier,
        max_rooms: int = DEFAULT_MAX_ROOMS,
        max_events: int = DEFAULT_MAX_EVENTS,
    ) -> None:
        self._storage = storage
        self._notifier = notifier
        self._max_rooms = max_rooms
        self._max_events = max_events
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._loads: dict[str, list[_Load]] = {}
        self.hits = 0
        self.misses = 0

    async def room_events(
        self, room_id: str, *, after: int | None, upto: int, limit: int
    ) -> list[StoredEvent]:
        """What `EventStore.get_room_events(..., newest_first=True)` answers:
        the room's newest events with `after < position <= upto`, at most
        `limit`. `upto` must be readable (at most the stream's current
        position)."""
        found = self._from_window(room_id, after, upto, limit)
        if found is not None:
            self.hits += 1
            return found
        loading = [
            load
            for load in self._loads.get(room_id, ())
            if load.upto >= upto
            and (load.after is None or (after is not None and load.after <= after))
        ]
        if loading:
            await asyncio.shield(loading[0].done)
            found = self._from_window(room_id, after, upto, limit)
            if found is not None:
                self.hits += 1
                return found
        self.misses += 1
        return await self._load(room_id, after, upto, limit)

    def _from_window(
        self, room_id: str, after: int | None, upto: int, limit: int
    ) -> list[StoredEvent] | None:
        window = self._windows.get(room_id)
        if window is None:
            return None
        top = window.top
        if (
            self._notifier.knows_since(top)
            and self._notifier.settled(upto)
            and self._notifier.room_event_position(room_id) <= top
        ):
            top = max(top, upto)
        if upto > top:
            return None
        self._windows.move_to_end(room_id)
        lowest = -1 if after is None else after
        if window.floor <= lowest or window.count(max(lowest, window.floor), upto) >= limit:
            return window.newest(max(lowest, window.floor), upto, limit)
        return None

    async def _load(
        self, room_id: str, after: int | None, upto: int, limit: int
    ) -> list[StoredEvent]:
        load = _Load(after, upto, asyncio.get_running_loop().create_future())
        self._loads.setdefault(room_id, []).append(load)
        try:
            found = await self._storage.events.get_room_events(
                room_id, after=after, upto=upto, limit=limit, newest_first=True
            )
            if len(found) < limit:
                floor = -1 if after is None else after
            else:
                floor = found[-1].stream_ordering - 1
            self._merge(room_id, floor, upto, found[::-1])
            return found
        finally:
            load.done.set_result(None)
            loads = self._loads[room_id]
            loads.remove(load)
            if not loads:
                del self._loads[room_id]

    def _merge(self, room_id: str, floor: int, top: int, events: list[StoredEvent]) -> None:
        window = self._windows.get(room_id)
        if window is not None and floor <= window.top and window.floor <= top:
            by_position = {e.stream_ordering: e for e in window.events}
            by_position.update((e.stream_ordering, e) for e in events)
            floor, top = min(floor, window.floor), max(top, window.top)
            events = [by_position[p] for p in sorted(by_position)]
        elif window is not None and window.top > top:
            return
        events = _apply_redactions(events)
        if len(events) > self._max_events:
            floor = events[-self._max_events - 1].stream_ordering
            events = events[-self._max_events :]
        self._windows[room_id] = _Window(floor, top, events)
        self._windows.move_to_end(room_id)
        while len(self._windows) > self._max_rooms:
            self._windows.popitem(last=False)

    def forget(self, room_id: str) -> None:
        """The room's window is dropped (in a cluster: another worker wrote in
        it, or, see `forget_committed`, this one did)."""
        self._windows.pop(room_id, None)

    def clear(self) -> None:
        self._windows.clear()

    def forget_committed(self, pending: PendingEvent, previous: int) -> None:
        """The commit listener of a cluster worker, instead of `on_committed`:
        `previous` knows only this worker's events, so a window is never
        extended in memory, only read again (complete up to a readable position)."""
        self._windows.pop(pending.room_id, None)

    def on_committed(self, pending: PendingEvent, previous: int) -> None:
        """`EventSender` commit listener (before the event is readable): the
        event joins its room's window if the window holds every earlier event
        of the room (up to `previous`), so the syncs it wakes need no query; a
        redaction changes the event it redacts."""
        room_id = pending.room_id
        window = self._windows.get(room_id)
        if window is None:
            return
        event = pending.event
        target = event["content"].get("redacts")
        if event["type"] == "m.room.redaction" and isinstance(target, str):
            window.events = _apply_redactions(window.events, {target: pending.event_id})
        if window.top < previous:
            return
        window.events.append(
            StoredEvent(
                event=event,
                stream_ordering=pending.stream_ordering,
                sender_device=pending.txn.device_id if pending.txn else None,
                txn_id=pending.txn.txn_id if pending.txn else None,
            )
        )
        window.positions.append(pending.stream_ordering)
        window.top = pending.stream_ordering
        if len(window.events) > self._max_events:
            window.floor = window.events[-self._max_events - 1].stream_ordering
            del window.events[: -self._max_events]
            del window.positions[: -self._max_events]


def _apply_redactions(
    events: list[StoredEvent], redactions: dict[str, str] | None = None
) -> list[StoredEvent]:
    """The events, each one redacted (as the database stores it) if one of
    `events` or `redactions` (target id to redaction id) redacts it."""
    wanted = dict(redactions or {})
    for stored in events:
        target = stored.event["content"].get("redacts")
        if stored.type == "m.room.redaction" and isinstance(target, str):
            wanted.setdefault(target, stored.event_id)
    if not wanted:
        return events
    return [
        _redacted(stored, wanted[stored.event_id])
        if stored.event_id in wanted and stored.redacted_by is None
        else stored
        for stored in events
    ]


def _redacted(stored: StoredEvent, redaction_id: str) -> StoredEvent:
    event = redact_event(stored.event)
    event["event_id"] = stored.event_id
    return replace(stored, event=event, redacted_by=redaction_id)
