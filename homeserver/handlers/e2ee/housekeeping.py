"""Periodic upkeep of the to-device tables: the transaction ids of
sendToDevice requests (and the message ids of to-device EDUs from other
servers) are kept for `TXN_RETENTION_MS`, long enough for any client or
server retry, then deleted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from homeserver.storage import Storage
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

TXN_RETENTION_MS: Final = 7 * 24 * 3600 * 1000
INTERVAL_SECONDS: Final = 3600.0


class ToDeviceHousekeeping:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: int | None = None) -> int:
        cutoff = (now if now is not None else now_ms()) - TXN_RETENTION_MS
        removed = await self._storage.to_device.delete_txns_before(cutoff)
        if removed:
            logger.info("forgot old to-device transaction ids", extra={"count": removed})
        return removed

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="to-device-housekeeping")

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                logger.exception("to-device housekeeping failed")
            await asyncio.sleep(INTERVAL_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
