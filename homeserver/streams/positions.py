"""Allocation of stream positions with a persisted-up-to watermark.

Positions are handed out in increasing order, but the transactions that use
them may commit out of order. Readers must not advance past a position whose
transaction is still running, or they would skip it forever; `current` is
therefore the highest position below which every allocated position has
finished (committed or failed)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol


class Positions(Protocol):
    """What handlers need of the durable stream: `StreamPositions` in a
    single process, `streams/multi_writer.py`'s `MultiWriterPositions` in a
    cluster (where handing out a position is a database round trip)."""

    @property
    def current(self) -> int: ...

    def add_listener(self, listener: Callable[[int], None]) -> None: ...

    def allocate(self) -> contextlib.AbstractAsyncContextManager[int]: ...

    async def next_position(self) -> int:
        """The next position, in flight until `finish(position)`."""
        ...

    def finish(self, position: int) -> None: ...


class StreamPositions:
    def __init__(self, start: int) -> None:
        self._last_allocated = start
        self._current = start
        self._in_flight: set[int] = set()
        self._listeners: list[Callable[[int], None]] = []

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """`listener(current)` is called whenever `current` moves forward."""
        self._listeners.append(listener)

    @property
    def current(self) -> int:
        return self._current

    @contextlib.asynccontextmanager
    async def allocate(self) -> AsyncIterator[int]:
        """Yields the next position; on exit it counts as finished."""
        position = self.reserve()
        try:
            yield position
        finally:
            self.finish(position)

    def reserve(self) -> int:
        """The next position, in flight until `finish(position)`."""
        self._last_allocated += 1
        position = self._last_allocated
        self._in_flight.add(position)
        return position

    async def next_position(self) -> int:
        return self.reserve()

    def finish(self, position: int) -> None:
        """`position` is committed (or failed): readers may pass it."""
        self._in_flight.discard(position)
        self._advance()

    def _advance(self) -> None:
        before = self._current
        if self._in_flight:
            self._current = min(self._in_flight) - 1
        else:
            self._current = self._last_allocated
        if self._current > before:
            for listener in self._listeners:
                listener(self._current)


class EphemeralStream:
    """An in-memory stream (typing, presence). It starts from the wall clock in
    milliseconds so that positions keep increasing across restarts and tokens
    clients hold from before a restart stay valid."""

    def __init__(self) -> None:
        self._position = int(time.time() * 1000)

    @property
    def current(self) -> int:
        return self._position

    def advance(self) -> int:
        self._position = max(self._position + 1, int(time.time() * 1000))
        return self._position
