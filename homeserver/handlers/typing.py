"""Who is typing where: in memory only, expiring by itself, its own stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from homeserver.errors import MatrixError, forbidden
from homeserver.storage import Storage
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import EphemeralStream

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MS = 30_000
MAX_TIMEOUT_MS = 120_000


class TypingHandler:
    def __init__(self, storage: Storage, notifier: Notifier) -> None:
        self._storage = storage
        self._notifier = notifier
        self.stream = EphemeralStream()
        self._typing: dict[str, dict[str, asyncio.TimerHandle]] = {}
        self._changed_at: dict[str, int] = {}
        self._listeners: list[Callable[[str, str, bool], Awaitable[None]]] = []
        # A cluster worker: `relay(room_id, user_id, typing, timeout_ms)` tells
        # the other workers of each change a user asked for (`apply_remote`).
        self.relay: Callable[[str, str, bool, int | None], None] | None = None

    def add_listener(self, listener: Callable[[str, str, bool], Awaitable[None]]) -> None:
        """`listener(room_id, user_id, typing)` runs after each change a user
        asked for (federation sends them on)."""
        self._listeners.append(listener)

    async def _tell_listeners(self, room_id: str, user_id: str, typing: bool) -> None:
        for listener in self._listeners:
            try:
                await listener(room_id, user_id, typing)
            except Exception:
                logger.exception("typing listener failed")

    async def set_typing(
        self, room_id: str, user_id: str, typing: bool, timeout_ms: int | None
    ) -> None:
        membership = await self._storage.events.get_membership(room_id, user_id)
        if membership is None or membership.membership != "join":
            raise forbidden("You are not in this room")
        if not typing:
            self.stop(room_id, user_id)
            await self._tell_listeners(room_id, user_id, False)
            return
        timeout = DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms
        if timeout <= 0:
            raise MatrixError(400, "M_INVALID_PARAM", "timeout must be positive")
        timeout = min(timeout, MAX_TIMEOUT_MS)
        self._start(room_id, user_id, timeout)
        if self.relay is not None:
            self.relay(room_id, user_id, True, timeout)
        await self._tell_listeners(room_id, user_id, True)

    def apply_remote(self, room_id: str, user_id: str, typing: bool, timeout_ms: Any) -> None:
        """A change another worker of the cluster accepted (and checked)."""
        if not typing:
            self._stop(room_id, user_id)
            return
        timeout = (
            timeout_ms if isinstance(timeout_ms, int) and timeout_ms > 0 else DEFAULT_TIMEOUT_MS
        )
        self._start(room_id, user_id, min(timeout, MAX_TIMEOUT_MS))

    def _start(self, room_id: str, user_id: str, timeout: int) -> None:
        users = self._typing.setdefault(room_id, {})
        previous = users.pop(user_id, None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        # Each worker's own timer ends it (a timeout is not relayed).
        users[user_id] = loop.call_later(timeout / 1000, self._stop, room_id, user_id)
        if previous is None:
            self._changed(room_id)

    def stop(self, room_id: str, user_id: str) -> None:
        """The user stopped typing (said so, or sent a message)."""
        if self._stop(room_id, user_id) and self.relay is not None:
            self.relay(room_id, user_id, False, None)

    def _stop(self, room_id: str, user_id: str) -> bool:
        users = self._typing.get(room_id)
        if not users or user_id not in users:
            return False
        users.pop(user_id).cancel()
        if not users:
            del self._typing[room_id]
        self._changed(room_id)
        return True

    def _changed(self, room_id: str) -> None:
        position = self.stream.advance()
        self._changed_at[room_id] = position
        self._notifier.notify_room_ephemeral(room_id, "typing", position)

    def typing_users(self, room_id: str) -> list[str]:
        return sorted(self._typing.get(room_id, {}))

    def events_since(self, rooms: Iterable[str], since: int | None) -> dict[str, dict[str, Any]]:
        """The m.typing event of each room whose typing changed after `since`
        (every room with someone typing, for an initial sync)."""
        result = {}
        for room_id in rooms:
            changed = self._changed_at.get(room_id)
            if changed is None:
                continue
            if since is None and room_id not in self._typing:
                continue
            if since is not None and changed <= since:
                continue
            result[room_id] = {
                "type": "m.typing",
                "content": {"user_ids": self.typing_users(room_id)},
            }
        return result
