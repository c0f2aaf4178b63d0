"""Is the database answering? For `/ready` and the `homeserver_database_up` metric."""

from __future__ import annotations

import asyncio
import logging
import time

from homeserver.operations.outage import is_database_unavailable
from homeserver.storage import Storage

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 5.0


class DatabaseHealth:
    def __init__(self, storage: Storage, timeout_seconds: float = CHECK_TIMEOUT_SECONDS) -> None:
        self._storage = storage
        self._timeout = timeout_seconds
        self.up = True
        self.check_seconds = 0.0

    async def check(self) -> bool:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                await self._storage.ping()
        except TimeoutError:
            self._record(False, started)
            logger.warning("database did not answer", extra={"timeout_seconds": self._timeout})
            return False
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            self._record(False, started)
            logger.warning("database unavailable", extra={"error": _summary(exc)})
            return False
        self._record(True, started)
        return True

    def _record(self, up: bool, started: float) -> None:
        self.up = up
        self.check_seconds = time.perf_counter() - started


def _summary(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
