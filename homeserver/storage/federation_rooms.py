"""Federation's room bookkeeping: received transactions (for idempotency),
events rejected or soft-failed on receipt, and the outbound queue."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select

from homeserver.storage.base import Store, upsert
from homeserver.storage.tables import (
    federation_backfill_points,
    federation_event_outcomes,
    federation_outbound_queue,
    federation_received_transactions,
)
from homeserver.util import json_dumps, json_loads


@dataclass(frozen=True)
class EventOutcome:
    event_id: str
    room_id: str
    origin: str
    # "rejected", "soft_failed", or "outlier" (state learnt with /state_ids:
    # accepted, but neither in the timeline nor the current state)
    outcome: str
    reason: str
    event: dict[str, Any]


@dataclass(frozen=True)
class QueuedItem:
    queue_id: int
    kind: str  # "pdu" or "edu"
    item: dict[str, Any]


class FederationRoomStore(Store):
    # -- received transactions ---------------------------------------------

    async def get_transaction_response(self, origin: str, txn_id: str) -> dict[str, Any] | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(federation_received_transactions.c.response_json).where(
                        federation_received_transactions.c.origin == origin,
                        federation_received_transactions.c.txn_id == txn_id,
                    )
                )
            ).first()
        return None if row is None else dict(json_loads(row.response_json))

    async def save_transaction_response(
        self, origin: str, txn_id: str, response: dict[str, Any], now: int
    ) -> None:
        async with self.write() as conn:
            await conn.execute(
                upsert(
                    conn,
                    federation_received_transactions,
                    {
                        "origin": origin,
                        "txn_id": txn_id,
                        "response_json": json_dumps(response),
                        "received_ts": now,
                    },
                    ("origin", "txn_id"),
                )
            )

    # -- rejected and soft-failed events -----------------------------------

    async def record_outcome(self, outcome: EventOutcome, now: int) -> None:
        async with self.write() as conn:
            await conn.execute(
                upsert(
                    conn,
                    federation_event_outcomes,
                    {
                        "event_id": outcome.event_id,
                        "room_id": outcome.room_id,
                        "origin": outcome.origin,
                        "outcome": outcome.outcome,
                        "reason": outcome.reason,
                        "json": json_dumps(outcome.event),
                        "received_ts": now,
                    },
                    ("event_id",),
                )
            )

    async def get_outcomes(self, event_ids: Iterable[str]) -> dict[str, EventOutcome]:
        ids = list(set(event_ids))
        if not ids:
            return {}
        async with self.read() as conn:
            rows = await conn.execute(
                select(federation_event_outcomes).where(
                    federation_event_outcomes.c.event_id.in_(ids)
                )
            )
            return {
                r.event_id: EventOutcome(
                    r.event_id, r.room_id, r.origin, r.outcome, r.reason, json_loads(r.json)
                )
                for r in rows
            }

    async def remove_outcomes(self, event_ids: Iterable[str]) -> None:
        """Forgets the outcomes of events now held (outliers that arrived)."""
        ids = list(set(event_ids))
        if not ids:
            return
        async with self.write() as conn:
            await conn.execute(
                delete(federation_event_outcomes).where(
                    federation_event_outcomes.c.event_id.in_(ids)
                )
            )

    # -- backfill points -----------------------------------------------------

    async def add_backfill_points(self, room_id: str, points: dict[str, int]) -> None:
        """Events of the room we lack but hold events naming (id -> depth of
        the deepest event naming it)."""
        if not points:
            return
        async with self.write() as conn:
            for event_id, depth in points.items():
                await conn.execute(
                    upsert(
                        conn,
                        federation_backfill_points,
                        {"room_id": room_id, "event_id": event_id, "depth": depth},
                        ("room_id", "event_id"),
                    )
                )

    async def remove_backfill_points(self, room_id: str, event_ids: Iterable[str]) -> None:
        ids = list(set(event_ids))
        if not ids:
            return
        async with self.write() as conn:
            await conn.execute(
                delete(federation_backfill_points).where(
                    federation_backfill_points.c.room_id == room_id,
                    federation_backfill_points.c.event_id.in_(ids),
                )
            )

    async def get_backfill_points(self, room_id: str, limit: int) -> list[str]:
        """The room's backfill points, deepest first."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(federation_backfill_points.c.event_id)
                .where(federation_backfill_points.c.room_id == room_id)
                .order_by(
                    federation_backfill_points.c.depth.desc(),
                    federation_backfill_points.c.event_id,
                )
                .limit(limit)
            )
            return [r.event_id for r in rows]

    # -- outbound queue ------------------------------------------------------

    async def enqueue(
        self,
        destinations: Sequence[str],
        kind: str,
        item: dict[str, Any],
        now: int,
        delivered: Sequence[int] = (),
    ) -> dict[str, int]:
        """Queues `item` for each destination; returns each one's queue id.
        `delivered` rows (sent since) leave the queue in the same transaction."""
        if not destinations:
            return {}
        encoded = json_dumps(item)
        async with self.write() as conn:
            if delivered:
                await conn.execute(
                    delete(federation_outbound_queue).where(
                        federation_outbound_queue.c.queue_id.in_(list(delivered))
                    )
                )
            rows = await conn.execute(
                insert(federation_outbound_queue).returning(
                    federation_outbound_queue.c.destination, federation_outbound_queue.c.queue_id
                ),
                [
                    {"destination": d, "kind": kind, "json": encoded, "created_ts": now}
                    for d in destinations
                ],
            )
            return {r.destination: int(r.queue_id) for r in rows}

    async def peek_queue(self, destination: str, kind: str, limit: int) -> list[QueuedItem]:
        """The oldest `limit` items of one kind waiting for `destination`."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(
                    federation_outbound_queue.c.queue_id,
                    federation_outbound_queue.c.kind,
                    federation_outbound_queue.c.json,
                )
                .where(
                    federation_outbound_queue.c.destination == destination,
                    federation_outbound_queue.c.kind == kind,
                )
                .order_by(federation_outbound_queue.c.queue_id)
                .limit(limit)
            )
            return [QueuedItem(int(r.queue_id), r.kind, json_loads(r.json)) for r in rows]

    async def remove_queued(self, queue_ids: Sequence[int]) -> None:
        if not queue_ids:
            return
        async with self.write() as conn:
            await conn.execute(
                delete(federation_outbound_queue).where(
                    federation_outbound_queue.c.queue_id.in_(list(queue_ids))
                )
            )

    async def trim_queue(self, destination: str, kind: str, keep: int) -> int:
        """Drops all but the newest `keep` items of one kind waiting for
        `destination`; returns how many were dropped."""
        async with self.write() as conn:
            newest = (
                await conn.execute(
                    select(federation_outbound_queue.c.queue_id)
                    .where(
                        federation_outbound_queue.c.destination == destination,
                        federation_outbound_queue.c.kind == kind,
                    )
                    .order_by(federation_outbound_queue.c.queue_id.desc())
                    .offset(keep)
                    .limit(1)
                )
            ).first()
            if newest is None:
                return 0
            result = await conn.execute(
                delete(federation_outbound_queue).where(
                    federation_outbound_queue.c.destination == destination,
                    federation_outbound_queue.c.kind == kind,
                    federation_outbound_queue.c.queue_id <= newest.queue_id,
                )
            )
            return int(result.rowcount or 0)

    async def queued_destinations(self) -> list[str]:
        """Every destination with something waiting (to resume after a restart)."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(federation_outbound_queue.c.destination)
                .group_by(federation_outbound_queue.c.destination)
                .order_by(func.min(federation_outbound_queue.c.queue_id))
            )
            return [r.destination for r in rows]
