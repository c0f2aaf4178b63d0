"""Downloads of a created but not yet uploaded mxc URI wait for its upload:
woken by the upload itself, never by polling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class UploadSignals:
    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._waiters: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def waiting(self, media_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set when the media's content arrives. Enter it before
        checking whether it has arrived already, so that no upload is missed."""
        event = self._events.setdefault(media_id, asyncio.Event())
        self._waiters[media_id] = self._waiters.get(media_id, 0) + 1
        try:
            yield event
        finally:
            self._waiters[media_id] -= 1
            if not self._waiters[media_id]:
                del self._waiters[media_id]
                self._events.pop(media_id, None)

    def uploaded(self, media_id: str) -> None:
        event = self._events.get(media_id)
        if event is not None:
            event.set()

    def waiting_count(self) -> int:
        return sum(self._waiters.values())
