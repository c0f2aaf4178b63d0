"""Read receipts and the push actions that unread counts are made of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from homeserver.storage.base import Store, upsert
from homeserver.storage.tables import event_push_actions, receipts
from homeserver.util import json_dumps

READ_RECEIPT_TYPES = ("m.read", "m.read.private")


@dataclass(frozen=True)
class Receipt:
    room_id: str
    receipt_type: str
    user_id: str
    event_id: str
    event_stream_ordering: int
    ts: int
    stream_ordering: int


@dataclass(frozen=True)
class PushAction:
    user_id: str
    notify: bool
    highlight: bool
    actions: list[Any]


@dataclass(frozen=True)
class UnreadCounts:
    notifications: int
    highlights: int


def _receipt(row: Any) -> Receipt:
    return Receipt(
        row.room_id,
        row.receipt_type,
        row.user_id,
        row.event_id,
        int(row.event_stream_ordering),
        int(row.ts),
        int(row.stream_ordering),
    )


class ReceiptStore(Store):
    async def get_receipt(self, room_id: str, receipt_type: str, user_id: str) -> Receipt | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(receipts).where(
                        receipts.c.room_id == room_id,
                        receipts.c.receipt_type == receipt_type,
                        receipts.c.user_id == user_id,
                    )
                )
            ).first()
        return None if row is None else _receipt(row)

    async def put_receipt(self, receipt: Receipt) -> None:
        async with self.write() as conn:
            await conn.execute(
                upsert(
                    conn,
                    receipts,
                    {
                        "room_id": receipt.room_id,
                        "receipt_type": receipt.receipt_type,
                        "user_id": receipt.user_id,
                        "event_id": receipt.event_id,
                        "event_stream_ordering": receipt.event_stream_ordering,
                        "ts": receipt.ts,
                        "stream_ordering": receipt.stream_ordering,
                    },
                    ("room_id", "receipt_type", "user_id"),
                )
            )

    async def receipts_for_rooms(
        self, room_ids: Sequence[str], after: int | None, upto: int
    ) -> list[Receipt]:
        """Receipts in the rooms set in (after, upto]; all current ones when
        `after` is None."""
        if not room_ids:
            return []
        conditions = [receipts.c.room_id.in_(list(room_ids)), receipts.c.stream_ordering <= upto]
        if after is not None:
            conditions.append(receipts.c.stream_ordering > after)
        async with self.read() as conn:
            rows = await conn.execute(
                select(receipts).where(*conditions).order_by(receipts.c.stream_ordering)
            )
            return [_receipt(r) for r in rows]

    async def get_max_stream_ordering(self) -> int:
        async with self.read() as conn:
            value = await conn.scalar(select(func.max(receipts.c.stream_ordering)))
        return int(value or 0)

    async def unread_counts(
        self, user_id: str, room_ids: Sequence[str], *, upto: int | None = None
    ) -> dict[str, UnreadCounts]:
        """Notifying and highlighting events after the user's newest read
        receipt (and, with `upto`, at or before that position), per room."""
        if not room_ids:
            return {}
        read = (
            select(
                receipts.c.room_id,
                func.max(receipts.c.event_stream_ordering).label("read_up_to"),
            )
            .where(
                receipts.c.user_id == user_id,
                receipts.c.room_id.in_(list(room_ids)),
                receipts.c.receipt_type.in_(READ_RECEIPT_TYPES),
            )
            .group_by(receipts.c.room_id)
            .subquery()
        )
        actions = event_push_actions
        bounds = [] if upto is None else [actions.c.stream_ordering <= upto]
        query = (
            select(
                actions.c.room_id,
                func.count().filter(actions.c.notify.is_(True)),
                func.count().filter(actions.c.highlight.is_(True)),
            )
            .select_from(actions.outerjoin(read, read.c.room_id == actions.c.room_id))
            .where(
                actions.c.user_id == user_id,
                actions.c.room_id.in_(list(room_ids)),
                and_(actions.c.stream_ordering > func.coalesce(read.c.read_up_to, 0)),
                *bounds,
            )
            .group_by(actions.c.room_id)
        )
        async with self.read() as conn:
            rows = await conn.execute(query)
            return {r[0]: UnreadCounts(int(r[1]), int(r[2])) for r in rows}


def push_action_rows(
    room_id: str, event_id: str, stream_ordering: int, actions: Sequence[PushAction]
) -> list[dict[str, Any]]:
    return [
        {
            "user_id": a.user_id,
            "room_id": room_id,
            "stream_ordering": stream_ordering,
            "event_id": event_id,
            "notify": a.notify,
            "highlight": a.highlight,
            "actions": json_dumps(a.actions),
        }
        for a in actions
    ]
