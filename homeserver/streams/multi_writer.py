"""Stream positions with several writer processes on one PostgreSQL (scale-out).

Why per-writer positions and not one writer that the others forward to: every
worker keeps persisting its own events (no extra hop, and no single process
whose death stops all sends), and the price is only this bookkeeping.

Positions come from one PostgreSQL sequence, so they are unique and increase
across the cluster, but transactions commit out of order, within a worker and
between workers. Each writer therefore records (table `stream_writers`) its
*safe position*: every position it allocated up to there has finished. While
it has positions in flight that is the smallest in flight minus one; when it
has none, it is the sequence's newest value, read while nothing was being
allocated (anything it allocates later is bigger). Readers may go up to the
smallest safe position of the live writers, and so never pass an event that
commits later with a smaller position.

A writer whose database session is gone (the process died) can no longer
commit: its unfinished transactions were rolled back with its connections. It
stops holding readers back after `DEAD_WRITER_GRACE_SECONDS` (a margin for a
COMMIT already on the wire when the process died), and its row is removed.

`poke()` makes a writer publish and re-read now; a cross-process feed (Redis)
calls it when another worker announces progress, and a slow tick does the same
in case a message was missed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from homeserver.storage.stream_writers import StreamWriterStore

logger = logging.getLogger(__name__)

DEAD_WRITER_GRACE_SECONDS = 2.0


class MultiWriterPositions:
    def __init__(
        self,
        store: StreamWriterStore,
        instance: str,
        backend_pid: int,
        *,
        tick_seconds: float = 1.0,
    ) -> None:
        self._store = store
        self.instance = instance
        self._backend_pid = backend_pid
        self._tick_seconds = tick_seconds
        self._in_flight: set[int] = set()
        self._allocating = 0
        self._allocations_started = 0
        self._own_safe = 0
        self._current = 0
        self._listeners: list[Callable[[int], None]] = []
        self._dead_since: dict[str, float] = {}
        self._poked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Called after this writer's safe position was recorded, with it (a
        # Redis feed tells the other workers to re-read).
        self.on_progress: Callable[[int], None] | None = None

    @property
    def current(self) -> int:
        return self._current

    def add_listener(self, listener: Callable[[int], None]) -> None:
        self._listeners.append(listener)

    async def start(self, at_least: int) -> None:
        """Registers this writer; `at_least` is the newest position the tables hold."""
        await self._store.catch_up_sequence(at_least)
        self._own_safe = await self._store.last_allocated()
        await self._store.record(self.instance, self._backend_pid, self._own_safe)
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name=f"stream-writer-{self.instance}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self._store.forget(self.instance)

    # -- writing -----------------------------------------------------------------

    async def reserve(self) -> int:
        """The next position, in flight until `finish(position)`."""
        self._allocating += 1
        self._allocations_started += 1
        try:
            position = await self._store.next_position()
        finally:
            self._allocating -= 1
        self._in_flight.add(position)
        return position

    async def next_position(self) -> int:
        return await self.reserve()

    def finish(self, position: int) -> None:
        self._in_flight.discard(position)
        self.poke()

    @contextlib.asynccontextmanager
    async def allocate(self) -> AsyncIterator[int]:
        position = await self.reserve()
        try:
            yield position
        finally:
            self.finish(position)

    # -- progress ----------------------------------------------------------------

    def poke(self) -> None:
        self._poked.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick_seconds):
                    await self._poked.wait()
            self._poked.clear()
            try:
                await self.publish()
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is away: try again on the next tick
                logger.warning("stream position refresh failed", exc_info=True)

    async def publish(self) -> None:
        safe = await self._safe_position()
        if safe is None or safe <= self._own_safe:
            return
        self._own_safe = safe
        await self._store.record(self.instance, self._backend_pid, safe)
        if self.on_progress is not None:
            self.on_progress(safe)

    async def _safe_position(self) -> int | None:
        if self._in_flight:
            return min(self._in_flight) - 1
        if self._allocating:
            return None  # a position is being handed out: not known yet
        started = self._allocations_started
        newest = await self._store.last_allocated()
        if started != self._allocations_started or self._in_flight or self._allocating:
            return None  # an allocation began meanwhile and may be below `newest`
        return newest

    async def refresh(self) -> None:
        """Re-reads every writer's safe position and moves `current` forward."""
        writers = await self._store.writers()
        now = time.monotonic()
        marks: list[int] = []
        for instance, (safe, _pid, alive) in writers.items():
            if instance == self.instance:
                marks.append(max(safe, self._own_safe))
                continue
            if alive:
                self._dead_since.pop(instance, None)
                marks.append(safe)
                continue
            dead_since = self._dead_since.setdefault(instance, now)
            if now - dead_since < DEAD_WRITER_GRACE_SECONDS:
                marks.append(safe)
                self.poke_later(DEAD_WRITER_GRACE_SECONDS)
            else:
                logger.info("stream writer gone", extra={"instance": instance})
                await self._store.forget(instance)
                self._dead_since.pop(instance, None)
        if self.instance not in writers:
            marks.append(self._own_safe)
        current = min(marks)
        if current > self._current:
            self._current = current
            for listener in self._listeners:
                listener(current)

    def poke_later(self, delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, self.poke)
