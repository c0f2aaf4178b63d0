"""EDUs other servers send: `m.typing`, `m.receipt` and `m.presence`, for
their own users only, into the homeserver's typing, receipt and presence
handlers (typing and receipts only in rooms the user is in; presence is shown
only to users sharing a room). Other modules register handlers for more EDU
types (`register`, e.g. the E2EE ones in `e2ee_edus.py`); the rest are ignored."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from federation.server_acl import room_allows
from homeserver.errors import MatrixError
from homeserver.events.identifiers import server_name_of
from homeserver.server import HomeServer

logger = logging.getLogger(__name__)

RECEIPT_TYPES = ("m.read", "m.read.private")
MAX_PRESENCE_UPDATES = 100

# (origin, content) of one EDU of the type it was registered for.
EduHandler = Callable[[str, dict[str, Any]], Awaitable[None]]


def _is_users_of(user_id: object, origin: str) -> bool:
    if not isinstance(user_id, str) or not user_id.startswith("@") or ":" not in user_id:
        return False
    return server_name_of(user_id) == origin


class InboundEdus:
    def __init__(self, homeserver: HomeServer) -> None:
        self._hs = homeserver
        self._handlers: dict[str, EduHandler] = {}

    def register(self, edu_type: str, handler: EduHandler) -> None:
        self._handlers[edu_type] = handler

    async def receive(self, origin: str, edu: Any) -> None:
        if not isinstance(edu, dict) or not isinstance(edu.get("content"), dict):
            return
        kind, content = edu.get("edu_type"), edu["content"]
        try:
            if kind == "m.typing":
                await self._typing(origin, content)
            elif kind == "m.receipt":
                await self._receipts(origin, content)
            elif kind == "m.presence":
                await self._presence(origin, content)
            elif isinstance(kind, str) and kind in self._handlers:
                await self._handlers[kind](origin, content)
        except MatrixError as exc:
            logger.info(
                "EDU ignored", extra={"origin": origin, "edu_type": kind, "error": str(exc)}
            )

    async def _typing(self, origin: str, content: dict[str, Any]) -> None:
        room_id, user_id, typing = (
            content.get("room_id"),
            content.get("user_id"),
            content.get("typing"),
        )
        if not isinstance(room_id, str) or not isinstance(typing, bool):
            return
        if not _is_users_of(user_id, origin) or not await room_allows(self._hs, room_id, origin):
            return
        assert isinstance(user_id, str)
        timeout = content.get("timeout")
        await self._hs.typing.set_typing(
            room_id, user_id, typing, timeout if isinstance(timeout, int) and timeout > 0 else None
        )

    async def _presence(self, origin: str, content: dict[str, Any]) -> None:
        updates = content.get("push")
        if not isinstance(updates, list):
            return
        for update in updates[:MAX_PRESENCE_UPDATES]:
            if not isinstance(update, dict) or not _is_users_of(update.get("user_id"), origin):
                continue
            status_msg = update.get("status_msg")
            last_active_ago = update.get("last_active_ago")
            await self._hs.presence.set_remote(
                str(update["user_id"]),
                str(update.get("presence")),
                status_msg if isinstance(status_msg, str) else None,
                last_active_ago if isinstance(last_active_ago, int) else None,
                update.get("currently_active") is True,
            )

    async def _receipts(self, origin: str, content: dict[str, Any]) -> None:
        for room_id, by_type in content.items():
            if not isinstance(room_id, str) or not isinstance(by_type, dict):
                continue
            if not await room_allows(self._hs, room_id, origin):
                continue
            for receipt_type, by_user in by_type.items():
                if receipt_type not in RECEIPT_TYPES or not isinstance(by_user, dict):
                    continue
                for user_id, receipt in by_user.items():
                    if not _is_users_of(user_id, origin) or not isinstance(receipt, dict):
                        continue
                    event_ids = receipt.get("event_ids")
                    if not isinstance(event_ids, list):
                        continue
                    for event_id in event_ids[-1:]:
                        if isinstance(event_id, str):
                            try:
                                await self._hs.receipts.post_receipt(
                                    room_id, user_id, receipt_type, event_id
                                )
                            except MatrixError as exc:
                                logger.info("receipt ignored", extra={"error": str(exc)})
