"""How far the push dispatcher has got through the event stream.

Events are opened when queued and closed when their pushes are decided (and
queued durably), in any order; `through` is the highest position at or below
which nothing is still open. That is what the dispatcher records, and where
a restart resumes."""

from __future__ import annotations

import heapq


class Progress:
    def __init__(self, start: int) -> None:
        self._seen = start
        self._open: list[int] = []  # a heap
        self._closed: set[int] = set()

    def seen(self, position: int) -> None:
        """Every event up to `position` has been offered to the dispatcher."""
        self._seen = max(self._seen, position)

    def opened(self, position: int) -> None:
        heapq.heappush(self._open, position)
        self.seen(position)

    def closed(self, position: int) -> None:
        self._closed.add(position)
        while self._open and self._open[0] in self._closed:
            self._closed.discard(heapq.heappop(self._open))

    @property
    def through(self) -> int:
        return self._open[0] - 1 if self._open else self._seen

    @property
    def open_count(self) -> int:
        return len(self._open)
