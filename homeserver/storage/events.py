"""Room events: persistence of an event with its edges and state changes in one
transaction, and the read paths (by id, by room and stream range, state)."""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, bindparam, delete, func, or_, select, tuple_, update

from homeserver.events.room_ids import room_id_of
from homeserver.events.search_text import searchable_text
from homeserver.storage.base import Store
from homeserver.storage.multi_table_write import MultiTableWrite, TableWrite
from homeserver.storage.receipts import PushAction, push_action_rows
from homeserver.storage.search_schema import FTS_INSERT, fts_rows
from homeserver.storage.tables import (
    current_state,
    event_auth_edges,
    event_edges,
    event_push_actions,
    event_search,
    events,
    forward_extremities,
    memberships,
    rooms,
    transaction_ids,
)
from homeserver.util import json_dumps, json_loads

StateKey = tuple[str, str]


class _EventFields:
    """The fields of `self.event` that storage code reads by name."""

    event: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.event["event_id"])

    @property
    def room_id(self) -> str:
        return str(room_id_of(self.event))

    @property
    def state_key(self) -> str | None:
        key = self.event.get("state_key")
        return None if key is None else str(key)


@dataclass(frozen=True)
class StoredEvent(_EventFields):
    event: dict[str, Any]
    stream_ordering: int
    redacted_by: str | None = None
    sender_device: str | None = None
    txn_id: str | None = None

    @property
    def type(self) -> str:
        return str(self.event["type"])


@dataclass(frozen=True)
class NewRoom:
    room_id: str
    room_version: str
    creator: str
    is_public: bool
    created_ts: int


@dataclass(frozen=True)
class TxnRecord:
    device_id: str
    txn_id: str


@dataclass(frozen=True)
class PendingEvent(_EventFields):
    """An event ready to be written, with what its write changes besides."""

    event: dict[str, Any]
    stream_ordering: int
    replaces_state: str | None = None
    txn: TxnRecord | None = None
    new_room: NewRoom | None = None
    # For a redaction: the redacted form of its target, which replaces it.
    redacted_target: dict[str, Any] | None = None
    push_actions: tuple[PushAction, ...] = ()
    # False for an event that must not become a forward extremity (the state
    # a remote server hands over when we join one of its rooms).
    extremity: bool = True
    # False for a received state event that lost state resolution against the
    # room's current state: stored in the DAG, not made current.
    updates_state: bool = True
    # In a cluster: the room's forward extremities the event was built on (it
    # is refused with `StaleRoom` if another worker changed them meanwhile).
    expected_extremities: tuple[str, ...] | None = None

    @property
    def membership(self) -> str | None:
        if self.event["type"] != "m.room.member":
            return None
        membership = self.event["content"].get("membership")
        return None if membership is None else str(membership)


@dataclass(frozen=True)
class MembershipRow:
    room_id: str
    user_id: str
    membership: str
    event_id: str
    stream_ordering: int


class StateValue(NamedTuple):
    """One value a piece of state took: where it is in the stream, and in the
    room's DAG (`depth`)."""

    position: int
    content: dict[str, Any]
    depth: int


@dataclass(frozen=True)
class StateChange:
    key: StateKey
    event_id: str
    replaces: str | None
    stream_ordering: int


_EVENT_COLUMNS = (
    events.c.json,
    events.c.stream_ordering,
    events.c.redacted_by,
    events.c.sender_device,
    events.c.txn_id,
)


# The statements of the hottest reads, built once: building a statement costs
# more than running it (about 0.1 ms of expression building and cache-key work).
_EVENT_ID_FOR_TXN = select(transaction_ids.c.event_id).where(
    transaction_ids.c.user_id == bindparam("user_id"),
    transaction_ids.c.device_id == bindparam("device_id"),
    transaction_ids.c.txn_id == bindparam("txn_id"),
)
_EVENT_BY_ID = select(*_EVENT_COLUMNS).where(events.c.event_id == bindparam("event_id"))


def _room_events_statement(
    bounded_below: bool, bounded_above: bool, newest_first: bool
) -> Select[Any]:
    conditions = [events.c.room_id == bindparam("room_id")]
    if bounded_below:
        conditions.append(events.c.stream_ordering > bindparam("after"))
    if bounded_above:
        conditions.append(events.c.stream_ordering <= bindparam("upto"))
    order = events.c.stream_ordering.desc() if newest_first else events.c.stream_ordering
    return select(*_EVENT_COLUMNS).where(*conditions).order_by(order).limit(bindparam("limit"))


_ROOM_EVENTS = {
    flags: _room_events_statement(*flags) for flags in itertools.product((False, True), repeat=3)
}


def _row_to_event(row: Any) -> StoredEvent:
    return StoredEvent(
        event=json_loads(row.json),
        stream_ordering=int(row.stream_ordering),
        redacted_by=row.redacted_by,
        sender_device=row.sender_device,
        txn_id=row.txn_id,
    )


def _room_row(room: NewRoom) -> dict[str, Any]:
    return {
        "room_id": room.room_id,
        "room_version": room.room_version,
        "creator": room.creator,
        "is_public": room.is_public,
        "created_ts": room.created_ts,
    }


def _event_row(pending: PendingEvent) -> dict[str, Any]:
    event = pending.event
    return {
        "stream_ordering": pending.stream_ordering,
        "event_id": pending.event_id,
        "room_id": pending.room_id,
        "type": event["type"],
        "state_key": pending.state_key,
        "membership": pending.membership,
        "sender": event["sender"],
        "depth": event["depth"],
        "origin_server_ts": event["origin_server_ts"],
        "replaces_state": pending.replaces_state,
        "redacted_by": None,
        "sender_device": pending.txn.device_id if pending.txn else None,
        "txn_id": pending.txn.txn_id if pending.txn else None,
        "json": json_dumps(event),
    }


def _search_rows(batch: Sequence[PendingEvent]) -> list[dict[str, Any]]:
    rows = []
    for p in batch:
        found = searchable_text(p.event)
        if found is not None:
            rows.append(
                {
                    "stream_ordering": p.stream_ordering,
                    "event_id": p.event_id,
                    "room_id": p.room_id,
                    "sender": p.event["sender"],
                    "key": found[0],
                    "value": found[1],
                }
            )
    return rows


def _last_per_key(keyed_rows: Iterable[tuple[Any, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per key, the last one given (an upsert may not touch a row twice)."""
    return list(dict(keyed_rows).values())


# What persisting a batch of events writes, in this order.
_PERSIST_WRITES = (
    TableWrite(rooms),
    TableWrite(events),
    TableWrite(event_edges),
    TableWrite(event_auth_edges),
    TableWrite(forward_extremities, "delete", ("room_id", "event_id"), label="old_extremities"),
    TableWrite(forward_extremities, label="new_extremities"),
    TableWrite(current_state, "upsert", ("room_id", "type", "state_key")),
    TableWrite(memberships, "upsert", ("room_id", "user_id")),
    TableWrite(transaction_ids),
    TableWrite(event_push_actions),
    TableWrite(event_search),
)
_PERSIST_AT_ONCE = MultiTableWrite(_PERSIST_WRITES)


def _persist_rows(batch: Sequence[PendingEvent]) -> dict[str, list[dict[str, Any]]]:
    """The rows of each of `_PERSIST_WRITES` for the batch."""
    # Each event replaces its prev_events as a forward extremity; an event that
    # a later one of the batch builds on is never one itself.
    referenced = {(p.room_id, prev) for p in batch for prev in p.event.get("prev_events", [])}
    return {
        "rooms": [_room_row(p.new_room) for p in batch if p.new_room is not None],
        "events": [_event_row(p) for p in batch],
        "event_edges": [
            {"event_id": p.event_id, "prev_event_id": prev, "room_id": p.room_id}
            for p in batch
            for prev in p.event.get("prev_events", [])
        ],
        "event_auth_edges": [
            {"event_id": p.event_id, "auth_event_id": auth}
            for p in batch
            for auth in p.event.get("auth_events", [])
        ],
        "old_extremities": [
            {"room_id": room_id, "event_id": event_id} for room_id, event_id in referenced
        ],
        "new_extremities": [
            {"room_id": p.room_id, "event_id": p.event_id}
            for p in batch
            if p.extremity and (p.room_id, p.event_id) not in referenced
        ],
        "current_state": _last_per_key(
            (
                (p.room_id, p.event["type"], p.state_key),
                {
                    "room_id": p.room_id,
                    "type": p.event["type"],
                    "state_key": p.state_key,
                    "event_id": p.event_id,
                    "stream_ordering": p.stream_ordering,
                },
            )
            for p in batch
            if p.state_key is not None and p.updates_state
        ),
        "memberships": _last_per_key(
            (
                (p.room_id, p.state_key),
                {
                    "room_id": p.room_id,
                    "user_id": p.state_key,
                    "membership": p.membership,
                    "event_id": p.event_id,
                    "stream_ordering": p.stream_ordering,
                    "forgotten": False,
                },
            )
            for p in batch
            if p.membership is not None and p.state_key is not None and p.updates_state
        ),
        "transaction_ids": [
            {
                "user_id": p.event["sender"],
                "device_id": p.txn.device_id,
                "txn_id": p.txn.txn_id,
                "event_id": p.event_id,
                "room_id": p.room_id,
                "created_ts": p.event["origin_server_ts"],
            }
            for p in batch
            if p.txn is not None
        ],
        "event_push_actions": [
            row
            for p in batch
            for row in push_action_rows(p.room_id, p.event_id, p.stream_ordering, p.push_actions)
        ],
        "event_search": _search_rows(batch),
    }


class StaleRoom(Exception):
    """Events built on forward extremities another worker of the cluster has
    replaced since: nothing was written; build them again on fresh state."""

    def __init__(self, room_ids: set[str]) -> None:
        super().__init__(f"room state changed on another worker: {sorted(room_ids)}")
        self.room_ids = room_ids


def is_stale_room(error: BaseException | None) -> bool:
    """Whether `error` is (or was caused by) a `StaleRoom`."""
    while error is not None:
        if isinstance(error, StaleRoom):
            return True
        error = error.__cause__
    return False


def _stale_rooms(batch: Sequence[PendingEvent], current: dict[str, set[str]]) -> set[str]:
    """The rooms where an event of the batch was built on other extremities
    than the room has when it comes (`current`: the database's, per room)."""
    stale: set[str] = set()
    for pending in batch:
        extremities = current.get(pending.room_id)
        if extremities is None:
            continue
        expected = pending.expected_extremities
        if expected is not None and set(expected) != extremities:
            stale.add(pending.room_id)
        if pending.extremity:  # as the writes below change them
            prev = set(pending.event.get("prev_events", ()))
            current[pending.room_id] = (extremities - prev) | {pending.event_id}
    return stale


def _room_lock_key(room_id: str) -> int:
    return zlib.crc32(room_id.encode()) - 2**31


# The first of the two int4 keys of a room's advisory lock: sends to one room
# through several workers take turns at commit.
ROOM_LOCK_CLASS = 0x5E17


class EventStore(Store):
    # Set on a cluster worker: each batch checks, under per-room advisory
    # locks, that the rooms' extremities are still those its events expect.
    check_extremities = False

    # -- writing -------------------------------------------------------------

    async def persist_events(self, batch: Sequence[PendingEvent]) -> None:
        """Writes the events, in order, with their DAG edges, the rooms' new
        forward extremities, the state and membership changes, transaction ids,
        push actions and searchable text, all at once: on PostgreSQL in one statement, on
        SQLite in one transaction with one statement per table for the whole
        batch, however many events and rooms it holds.

        Later events may build on earlier ones of the same batch (their
        `prev_events`), as the event sender chains them before they commit."""
        if not batch:
            return
        if self.check_extremities:
            await self._persist_checked(batch)
            return
        rows = _persist_rows(batch)
        redactions = [p for p in batch if p.redacted_target is not None]
        # A redaction rewrites its target, which may be an event of this very
        # batch: that needs the statements in order, not one snapshot.
        if self.single_statement_writes and not redactions:
            async with self.write_statement() as conn:
                await conn.execute(_PERSIST_AT_ONCE.statement, _PERSIST_AT_ONCE.parameters(rows))
            return
        async with self.write() as conn:
            for write in _PERSIST_WRITES:
                if rows[write.name]:
                    await conn.execute(write.statement(conn), rows[write.name])
            if rows["event_search"] and conn.dialect.name == "sqlite":
                await conn.execute(FTS_INSERT, fts_rows(rows["event_search"]))
            for p in redactions:
                assert p.redacted_target is not None
                await conn.execute(
                    update(events)
                    .where(events.c.event_id == p.redacted_target["event_id"])
                    .values(json=json_dumps(p.redacted_target), redacted_by=p.event_id)
                )
                # Redacted text must no longer be found by search (on SQLite
                # a trigger takes it out of the FTS5 index).
                await conn.execute(
                    delete(event_search).where(
                        event_search.c.event_id == p.redacted_target["event_id"]
                    )
                )

    async def _persist_checked(self, batch: Sequence[PendingEvent]) -> None:
        """`persist_events` on a cluster worker (PostgreSQL): in one
        transaction, the rooms' advisory locks (in one order: no deadlock),
        then a check that each event was built on the extremities the room
        has at that point (the database's, then as the batch's earlier events
        leave them), then the writes. Another worker's commit to the room in
        between, or a build on a reloaded room before an earlier event of
        this worker committed, makes them differ."""
        checked = {p.room_id for p in batch if p.expected_extremities is not None}
        rows = _persist_rows(batch)
        async with self.write() as conn:
            for key in sorted({_room_lock_key(room_id) for room_id in checked}):
                await conn.execute(select(func.pg_advisory_xact_lock(ROOM_LOCK_CLASS, key)))
            if checked:
                found = await conn.execute(
                    select(forward_extremities.c.room_id, forward_extremities.c.event_id).where(
                        forward_extremities.c.room_id.in_(list(checked))
                    )
                )
                current: dict[str, set[str]] = {room_id: set() for room_id in checked}
                for row in found:
                    current[row.room_id].add(row.event_id)
                stale = _stale_rooms(batch, current)
                if stale:
                    raise StaleRoom(stale)
            if not any(p.redacted_target is not None for p in batch):
                # Every table in one statement, as a single process writes.
                await conn.execute(_PERSIST_AT_ONCE.statement, _PERSIST_AT_ONCE.parameters(rows))
                return
            for write in _PERSIST_WRITES:
                if rows[write.name]:
                    await conn.execute(write.statement(conn), rows[write.name])
            for p in batch:
                if p.redacted_target is None:
                    continue
                await conn.execute(
                    update(events)
                    .where(events.c.event_id == p.redacted_target["event_id"])
                    .values(json=json_dumps(p.redacted_target), redacted_by=p.event_id)
                )
                await conn.execute(
                    delete(event_search).where(
                        event_search.c.event_id == p.redacted_target["event_id"]
                    )
                )

    async def forget_room(self, room_id: str, user_id: str) -> None:
        async with self.write() as conn:
            await conn.execute(
                update(memberships)
                .where(memberships.c.room_id == room_id, memberships.c.user_id == user_id)
                .values(forgotten=True)
            )

    # -- transaction ids -----------------------------------------------------

    async def get_event_id_for_txn(self, user_id: str, device_id: str, txn_id: str) -> str | None:
        async with self.read() as conn:
            result = await conn.scalar(
                _EVENT_ID_FOR_TXN, {"user_id": user_id, "device_id": device_id, "txn_id": txn_id}
            )
        return None if result is None else str(result)

    # -- rooms ----------------------------------------------------------------

    async def room_exists(self, room_id: str) -> bool:
        async with self.read() as conn:
            found = await conn.scalar(select(rooms.c.room_id).where(rooms.c.room_id == room_id))
        return found is not None

    async def get_room_version(self, room_id: str) -> str | None:
        async with self.read() as conn:
            found = await conn.scalar(
                select(rooms.c.room_version).where(rooms.c.room_id == room_id)
            )
        return None if found is None else str(found)

    async def set_room_public(self, room_id: str, is_public: bool) -> None:
        async with self.write() as conn:
            await conn.execute(
                update(rooms).where(rooms.c.room_id == room_id).values(is_public=is_public)
            )

    async def is_room_public(self, room_id: str) -> bool:
        async with self.read() as conn:
            found = await conn.scalar(select(rooms.c.is_public).where(rooms.c.room_id == room_id))
        return bool(found)

    async def list_public_rooms(self) -> list[str]:
        async with self.read() as conn:
            rows = await conn.execute(
                select(rooms.c.room_id)
                .where(rooms.c.is_public.is_(True))
                .order_by(rooms.c.created_ts)
            )
            return [r.room_id for r in rows]

    async def count_joined_members(self, room_ids: Sequence[str]) -> dict[str, int]:
        if not room_ids:
            return {}
        async with self.read() as conn:
            rows = await conn.execute(
                select(memberships.c.room_id, func.count())
                .where(memberships.c.room_id.in_(room_ids), memberships.c.membership == "join")
                .group_by(memberships.c.room_id)
            )
            return {r[0]: int(r[1]) for r in rows}

    # -- reading events ------------------------------------------------------

    async def get_event(self, event_id: str) -> StoredEvent | None:
        async with self.read() as conn:
            row = (await conn.execute(_EVENT_BY_ID, {"event_id": event_id})).first()
        return None if row is None else _row_to_event(row)

    async def get_events(self, event_ids: Iterable[str]) -> dict[str, StoredEvent]:
        ids = list(set(event_ids))
        if not ids:
            return {}
        async with self.read() as conn:
            rows = await conn.execute(select(*_EVENT_COLUMNS).where(events.c.event_id.in_(ids)))
            found = [_row_to_event(r) for r in rows]
        return {e.event_id: e for e in found}

    async def get_events_between(self, after: int, upto: int, limit: int) -> list[StoredEvent]:
        """Events of every room with `after < stream_ordering <= upto`, oldest
        first, at most `limit` of them (the primary key serves the range)."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(*_EVENT_COLUMNS)
                .where(events.c.stream_ordering > after, events.c.stream_ordering <= upto)
                .order_by(events.c.stream_ordering)
                .limit(limit)
            )
            return [_row_to_event(r) for r in rows]

    async def get_forward_extremities(self, room_id: str) -> list[tuple[str, int]]:
        async with self.read() as conn:
            rows = await conn.execute(
                select(events.c.event_id, events.c.depth)
                .join(forward_extremities, forward_extremities.c.event_id == events.c.event_id)
                .where(forward_extremities.c.room_id == room_id)
            )
            return [(r.event_id, int(r.depth)) for r in rows]

    async def get_room_events(
        self,
        room_id: str,
        *,
        after: int | None = None,
        upto: int | None = None,
        limit: int,
        newest_first: bool,
    ) -> list[StoredEvent]:
        """Events of a room with `after < stream_ordering <= upto`, in the asked
        order. Served by the (room_id, stream_ordering) index: the cost of a page
        does not depend on the size of the room."""
        statement = _ROOM_EVENTS[(after is not None, upto is not None, newest_first)]
        params = {"room_id": room_id, "after": after, "upto": upto, "limit": limit}
        async with self.read() as conn:
            rows = await conn.execute(statement, params)
            return [_row_to_event(r) for r in rows]

    async def get_latest_positions(
        self, room_ids: Sequence[str], after: int, upto: int
    ) -> dict[str, int]:
        """For each room with events in (after, upto], its newest position."""
        if not room_ids:
            return {}
        async with self.read() as conn:
            rows = await conn.execute(
                select(events.c.room_id, func.max(events.c.stream_ordering))
                .where(
                    events.c.room_id.in_(room_ids),
                    events.c.stream_ordering > after,
                    events.c.stream_ordering <= upto,
                )
                .group_by(events.c.room_id)
            )
            return {r[0]: int(r[1]) for r in rows}

    async def get_min_stream_ordering(self) -> int:
        """The lowest position held (backfilled history lies below 0)."""
        async with self.read() as conn:
            value = await conn.scalar(select(func.min(events.c.stream_ordering)))
        return int(value or 0)

    async def get_max_stream_ordering(self) -> int:
        async with self.read() as conn:
            value = await conn.scalar(select(func.max(events.c.stream_ordering)))
        return int(value or 0)

    # -- state ---------------------------------------------------------------

    async def get_current_state(
        self, room_id: str, keys: Iterable[StateKey] | None = None
    ) -> dict[StateKey, StoredEvent]:
        """The room's current state events (all of them, or only `keys`)."""
        query = (
            select(*_EVENT_COLUMNS, current_state.c.type, current_state.c.state_key)
            .join(events, events.c.event_id == current_state.c.event_id)
            .where(current_state.c.room_id == room_id)
        )
        if keys is not None:
            wanted = list(set(keys))
            if not wanted:
                return {}
            query = query.where(tuple_(current_state.c.type, current_state.c.state_key).in_(wanted))
        async with self.read() as conn:
            rows = await conn.execute(query)
            return {(r.type, r.state_key): _row_to_event(r) for r in rows}

    async def get_joined_member_contents(self, room_id: str) -> dict[str, dict[str, Any]]:
        """The m.room.member content of each joined user of the room."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(memberships.c.user_id, events.c.json)
                .join(events, events.c.event_id == memberships.c.event_id)
                .where(memberships.c.room_id == room_id, memberships.c.membership == "join")
            )
            return {r.user_id: dict(json_loads(r.json)["content"]) for r in rows}

    async def get_current_state_ids(self, room_id: str) -> dict[StateKey, str]:
        async with self.read() as conn:
            rows = await conn.execute(
                select(
                    current_state.c.type, current_state.c.state_key, current_state.c.event_id
                ).where(current_state.c.room_id == room_id)
            )
            return {(r.type, r.state_key): r.event_id for r in rows}

    async def get_state_changes(
        self, room_id: str, after: int, upto: int | None = None
    ) -> list[StateChange]:
        """State events of the room with `after < position <= upto`, oldest first."""
        conditions = [
            events.c.room_id == room_id,
            events.c.state_key.is_not(None),
            events.c.stream_ordering > after,
        ]
        if upto is not None:
            conditions.append(events.c.stream_ordering <= upto)
        async with self.read() as conn:
            rows = await conn.execute(
                select(
                    events.c.type,
                    events.c.state_key,
                    events.c.event_id,
                    events.c.replaces_state,
                    events.c.stream_ordering,
                )
                .where(*conditions)
                .order_by(events.c.stream_ordering)
            )
            return [
                StateChange(
                    (r.type, r.state_key), r.event_id, r.replaces_state, int(r.stream_ordering)
                )
                for r in rows
            ]

    async def get_state_history(
        self, room_id: str, event_type: str, state_key: str
    ) -> list[StateValue]:
        """Every value a piece of state has had, oldest first, with positions."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(events.c.stream_ordering, events.c.json, events.c.depth)
                .where(
                    events.c.room_id == room_id,
                    events.c.type == event_type,
                    events.c.state_key == state_key,
                )
                .order_by(events.c.stream_ordering)
            )
            return [
                StateValue(int(r.stream_ordering), json_loads(r.json)["content"], int(r.depth))
                for r in rows
            ]

    async def get_state_histories(
        self, room_ids: Sequence[str], event_type: str, state_key: str
    ) -> dict[str, list[StateValue]]:
        """`get_state_history` of many rooms in one query."""
        found: dict[str, list[StateValue]] = {room_id: [] for room_id in room_ids}
        if not room_ids:
            return found
        async with self.read() as conn:
            rows = await conn.execute(
                select(events.c.room_id, events.c.stream_ordering, events.c.json, events.c.depth)
                .where(
                    events.c.room_id.in_(list(room_ids)),
                    events.c.type == event_type,
                    events.c.state_key == state_key,
                )
                .order_by(events.c.stream_ordering)
            )
            for r in rows:
                found[r.room_id].append(
                    StateValue(int(r.stream_ordering), json_loads(r.json)["content"], int(r.depth))
                )
        return found

    async def get_member_histories(
        self, room_id: str, user_ids: Sequence[str]
    ) -> dict[str, list[StateValue]]:
        """`get_state_history` of many users' m.room.member in one room, in one query."""
        found: dict[str, list[StateValue]] = {user_id: [] for user_id in user_ids}
        if not user_ids:
            return found
        async with self.read() as conn:
            rows = await conn.execute(
                select(events.c.state_key, events.c.stream_ordering, events.c.json, events.c.depth)
                .where(
                    events.c.room_id == room_id,
                    events.c.type == "m.room.member",
                    events.c.state_key.in_(list(user_ids)),
                )
                .order_by(events.c.stream_ordering)
            )
            for r in rows:
                found[r.state_key].append(
                    StateValue(int(r.stream_ordering), json_loads(r.json)["content"], int(r.depth))
                )
        return found

    # -- memberships ---------------------------------------------------------

    async def get_membership(self, room_id: str, user_id: str) -> MembershipRow | None:
        async with self.read() as conn:
            r = (
                await conn.execute(
                    select(memberships).where(
                        memberships.c.room_id == room_id, memberships.c.user_id == user_id
                    )
                )
            ).first()
        return (
            None
            if r is None
            else MembershipRow(
                r.room_id, r.user_id, r.membership, r.event_id, int(r.stream_ordering)
            )
        )

    async def get_rooms_for_user(
        self,
        user_id: str,
        membership_in: Sequence[str] = ("join",),
        *,
        include_forgotten: bool = False,
    ) -> list[MembershipRow]:
        conditions = [
            memberships.c.user_id == user_id,
            memberships.c.membership.in_(list(membership_in)),
        ]
        if not include_forgotten:
            conditions.append(memberships.c.forgotten.is_(False))
        async with self.read() as conn:
            rows = await conn.execute(select(memberships).where(*conditions))
            return [
                MembershipRow(
                    r.room_id, r.user_id, r.membership, r.event_id, int(r.stream_ordering)
                )
                for r in rows
            ]

    async def get_membership_changes_for_user(
        self, user_id: str, after: int, upto: int
    ) -> list[MembershipRow]:
        """Membership events targeting the user in (after, upto], oldest first."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(
                    events.c.room_id,
                    events.c.membership,
                    events.c.event_id,
                    events.c.stream_ordering,
                )
                .where(
                    events.c.type == "m.room.member",
                    events.c.state_key == user_id,
                    events.c.stream_ordering > after,
                    events.c.stream_ordering <= upto,
                )
                .order_by(events.c.stream_ordering)
            )
            return [
                MembershipRow(r.room_id, user_id, r.membership, r.event_id, int(r.stream_ordering))
                for r in rows
            ]

    async def get_room_members(
        self, room_id: str, membership_in: Sequence[str] | None = None
    ) -> list[MembershipRow]:
        conditions = [memberships.c.room_id == room_id]
        if membership_in is not None:
            conditions.append(memberships.c.membership.in_(list(membership_in)))
        async with self.read() as conn:
            rows = await conn.execute(select(memberships).where(*conditions))
            return [
                MembershipRow(
                    r.room_id, r.user_id, r.membership, r.event_id, int(r.stream_ordering)
                )
                for r in rows
            ]

    async def get_users_sharing_rooms(self, room_ids: Sequence[str]) -> set[str]:
        """Everyone joined to any of the rooms."""
        if not room_ids:
            return set()
        async with self.read() as conn:
            rows = await conn.execute(
                select(memberships.c.user_id)
                .where(
                    memberships.c.room_id.in_(list(room_ids)), memberships.c.membership == "join"
                )
                .distinct()
            )
            return {r.user_id for r in rows}

    async def users_share_room(self, user_a: str, user_b: str) -> bool:
        a = memberships.alias("a")
        b = memberships.alias("b")
        async with self.read() as conn:
            found = await conn.scalar(
                select(a.c.room_id)
                .join(b, and_(a.c.room_id == b.c.room_id))
                .where(
                    a.c.user_id == user_a,
                    b.c.user_id == user_b,
                    a.c.membership == "join",
                    or_(b.c.membership == "join", b.c.membership == "invite"),
                )
                .limit(1)
            )
        return found is not None
