"""A client sending a room event, the same whether it arrives over HTTP
(`PUT /rooms/{id}/send/{type}/{txnId}`) or the WebSocket stream."""

from __future__ import annotations

from typing import Any

from homeserver.errors import MatrixError, forbidden
from homeserver.handlers.tokens import Requester
from homeserver.server import HomeServer
from homeserver.storage.events import TxnRecord

STATE_ONLY_TYPES = ("m.room.create", "m.room.member", "m.room.power_levels")
MAX_TXN_ID_LENGTH = 255


def check_txn_id(txn_id: Any) -> str:
    if not isinstance(txn_id, str) or not txn_id or len(txn_id) > MAX_TXN_ID_LENGTH:
        raise MatrixError(400, "M_INVALID_PARAM", "Invalid transaction id")
    return txn_id


async def send_client_event(
    server: HomeServer,
    requester: Requester,
    room_id: str,
    event_type: str,
    txn_id: str,
    content: dict[str, Any],
) -> str:
    """Sends as `requester`, idempotently per device and transaction id, and
    returns the event id. Rate limited per user; only members may send (the
    event sender answers 403 for rooms one is not in, or that do not exist)."""
    check_txn_id(txn_id)
    server.send_limiter.check(f"user:{requester.user_id}")
    if event_type in STATE_ONLY_TYPES:
        raise forbidden(f"{event_type} must be sent as a state event")
    # Sending is activity. Marked first, so that a sender coming back online is
    # announced before the message, and the syncs it wakes carry both at once.
    await server.presence.active(requester.user_id)
    sent = await server.sender.send(
        room_id,
        requester.user_id,
        event_type,
        content,
        txn=TxnRecord(requester.device_id, txn_id),
    )
    return sent.event_id
