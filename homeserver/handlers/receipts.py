"""Read receipts (m.read, m.read.private) and read markers (m.fully_read)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from homeserver.errors import MatrixError, forbidden, not_found
from homeserver.storage import Storage
from homeserver.storage.receipts import Receipt
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import Positions
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

RECEIPT_TYPES = ("m.read", "m.read.private")
PRIVATE = "m.read.private"


class ReceiptHandler:
    def __init__(
        self,
        storage: Storage,
        positions: Positions,
        notifier: Notifier,
    ) -> None:
        self._storage = storage
        self._positions = positions
        self._notifier = notifier
        self._listeners: list[Callable[[str, str, str, str], Awaitable[None]]] = []

    def add_listener(self, listener: Callable[[str, str, str, str], Awaitable[None]]) -> None:
        """`listener(room_id, user_id, receipt_type, event_id)` runs after each
        receipt stored (federation sends them on)."""
        self._listeners.append(listener)

    async def _event_position(self, room_id: str, user_id: str, event_id: str) -> int:
        membership = await self._storage.events.get_membership(room_id, user_id)
        if membership is None or membership.membership != "join":
            raise forbidden("You are not in this room")
        event = await self._storage.events.get_event(event_id)
        if event is None or event.room_id != room_id:
            raise not_found("Event not found in this room")
        return event.stream_ordering

    async def post_receipt(
        self, room_id: str, user_id: str, receipt_type: str, event_id: str
    ) -> None:
        if receipt_type not in RECEIPT_TYPES:
            raise MatrixError(400, "M_INVALID_PARAM", f"Unknown receipt type {receipt_type}")
        event_position = await self._event_position(room_id, user_id, event_id)
        current = await self._storage.receipts.get_receipt(room_id, receipt_type, user_id)
        if current is not None and current.event_stream_ordering >= event_position:
            return  # receipts only move forward
        async with self._positions.allocate() as position:
            await self._storage.receipts.put_receipt(
                Receipt(
                    room_id, receipt_type, user_id, event_id, event_position, now_ms(), position
                )
            )
        self._notifier.notify_receipt(room_id, user_id, position, private=receipt_type == PRIVATE)
        for listener in self._listeners:
            try:
                await listener(room_id, user_id, receipt_type, event_id)
            except Exception:
                logger.exception("receipt listener failed")

    async def set_fully_read(self, room_id: str, user_id: str, event_id: str) -> None:
        await self._event_position(room_id, user_id, event_id)
        async with self._positions.allocate() as position:
            await self._storage.account_data.put(
                user_id, room_id, "m.fully_read", {"event_id": event_id}, position
            )
        self._notifier.notify_users([user_id], position)

    async def receipt_events(
        self, user_id: str, room_ids: Sequence[str], after: int | None, upto: int
    ) -> dict[str, dict[str, Any]]:
        """The m.receipt ephemeral event of each room with receipts in range
        (all current receipts when `after` is None). Private receipts are shown
        to their owner only."""
        found = await self._storage.receipts.receipts_for_rooms(room_ids, after, upto)
        events: dict[str, dict[str, Any]] = {}
        for receipt in found:
            if receipt.receipt_type == PRIVATE and receipt.user_id != user_id:
                continue
            content = events.setdefault(receipt.room_id, {"type": "m.receipt", "content": {}})
            by_type = content["content"].setdefault(receipt.event_id, {})
            by_type.setdefault(receipt.receipt_type, {})[receipt.user_id] = {"ts": receipt.ts}
        return events
