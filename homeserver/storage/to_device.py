"""Each device's inbox of to-device messages, and the transaction ids of
sendToDevice requests already handled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from homeserver.storage.base import Store, upsert
from homeserver.storage.tables import stream_heads, to_device_messages, to_device_txns

TO_DEVICE_HEAD = "to_device"


@dataclass(frozen=True)
class Recipient:
    user_id: str
    device_id: str
    content: str  # JSON text


@dataclass(frozen=True)
class InboxMessage:
    stream_ordering: int
    sender: str
    type: str
    content: str  # JSON text


class ToDeviceStore(Store):
    async def add_messages(
        self,
        sender: str,
        sender_device: str,
        txn_id: str,
        event_type: str,
        recipients: Sequence[Recipient],
        position: int,
        now: int,
    ) -> bool:
        """Stores the messages and the transaction id, in one transaction.
        False (and nothing stored) when the transaction id was used before."""
        try:
            async with self.write() as conn:
                await conn.execute(
                    insert(to_device_txns).values(
                        user_id=sender, device_id=sender_device, txn_id=txn_id, created_ts=now
                    )
                )
                if recipients:
                    await conn.execute(
                        insert(to_device_messages),
                        [
                            {
                                "user_id": r.user_id,
                                "device_id": r.device_id,
                                "stream_ordering": position,
                                "sender": sender,
                                "type": event_type,
                                "content": r.content,
                            }
                            for r in recipients
                        ],
                    )
        except IntegrityError:
            return False
        return True

    async def has_txn(self, sender: str, sender_device: str, txn_id: str) -> bool:
        async with self.read() as conn:
            found = await conn.scalar(
                select(to_device_txns.c.txn_id).where(
                    to_device_txns.c.user_id == sender,
                    to_device_txns.c.device_id == sender_device,
                    to_device_txns.c.txn_id == txn_id,
                )
            )
        return found is not None

    async def delete_txns_before(self, cutoff_ts: int) -> int:
        """Forgets the transaction ids (and remote message ids) recorded
        before `cutoff_ts`: a retry that late is a new request."""
        async with self.write() as conn:
            removed = await conn.execute(
                delete(to_device_txns).where(to_device_txns.c.created_ts < cutoff_ts)
            )
        return int(removed.rowcount or 0)

    async def get_messages(
        self, user_id: str, device_id: str, after: int, upto: int, limit: int
    ) -> list[InboxMessage]:
        table = to_device_messages
        async with self.read() as conn:
            rows = await conn.execute(
                select(table.c.stream_ordering, table.c.sender, table.c.type, table.c.content)
                .where(
                    table.c.user_id == user_id,
                    table.c.device_id == device_id,
                    table.c.stream_ordering > after,
                    table.c.stream_ordering <= upto,
                )
                .order_by(table.c.stream_ordering)
                .limit(limit)
            )
            return [InboxMessage(int(r[0]), r[1], r[2], r[3]) for r in rows]

    async def delete_upto(self, user_id: str, device_id: str, upto: int) -> int:
        """Deletes the messages the device acknowledged; the position is
        remembered so that positions are never handed out again."""
        table = to_device_messages
        async with self.write() as conn:
            removed = await conn.execute(
                delete(table).where(
                    table.c.user_id == user_id,
                    table.c.device_id == device_id,
                    table.c.stream_ordering <= upto,
                )
            )
            if removed.rowcount:
                await self._raise_head(conn, upto)
        return int(removed.rowcount or 0)

    async def delete_devices(self, user_id: str, device_ids: Sequence[str]) -> None:
        """The devices' inboxes, and the transaction ids they sent with (a
        device id used again later starts afresh)."""
        table = to_device_messages
        async with self.write() as conn:
            await conn.execute(
                delete(to_device_txns).where(
                    to_device_txns.c.user_id == user_id,
                    to_device_txns.c.device_id.in_(list(device_ids)),
                )
            )
            newest = await conn.scalar(
                select(func.max(table.c.stream_ordering)).where(
                    table.c.user_id == user_id, table.c.device_id.in_(list(device_ids))
                )
            )
            await conn.execute(
                delete(table).where(
                    table.c.user_id == user_id, table.c.device_id.in_(list(device_ids))
                )
            )
            if newest is not None:
                await self._raise_head(conn, int(newest))

    async def erase_user(self, user_id: str) -> None:
        """A closed account's inbox on every device and its transaction ids."""
        table = to_device_messages
        async with self.write() as conn:
            newest = await conn.scalar(
                select(func.max(table.c.stream_ordering)).where(table.c.user_id == user_id)
            )
            await conn.execute(delete(table).where(table.c.user_id == user_id))
            await conn.execute(delete(to_device_txns).where(to_device_txns.c.user_id == user_id))
            if newest is not None:
                await self._raise_head(conn, int(newest))

    @staticmethod
    async def _raise_head(conn: AsyncConnection, position: int) -> None:
        current = await conn.scalar(
            select(stream_heads.c.position).where(stream_heads.c.stream == TO_DEVICE_HEAD)
        )
        if current is None or int(current) < position:
            await conn.execute(
                upsert(
                    conn,
                    stream_heads,
                    {"stream": TO_DEVICE_HEAD, "position": position},
                    ("stream",),
                )
            )

    async def get_max_stream_ordering(self) -> int:
        async with self.read() as conn:
            newest = await conn.scalar(select(func.max(to_device_messages.c.stream_ordering)))
            head = await conn.scalar(select(func.max(stream_heads.c.position)))
        return max(int(newest or 0), int(head or 0))
