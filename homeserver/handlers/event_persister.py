"""Group commit: events waiting to be written go to the database together.

The event sender builds each event on the one before it in memory and hands it
here; while one batch is being written, the events that arrive queue up and
are written together in the next transaction (one statement per table for all
of them). A send is acknowledged only once its batch has committed.

Once a batch has committed, `on_committed` hears of its events before their
stream positions become readable (in the same step, with nothing else running
in between), so that whatever it announces or caches is in place before any
reader can reach those positions.

If a batch fails, each of its events is tried again on its own, in order, so
that one bad event does not fail the others; the rooms whose chain of events
broke are reported so that their in-memory state is reloaded from the database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from homeserver.storage import Storage
from homeserver.storage.events import PendingEvent
from homeserver.streams.positions import Positions

logger = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 200


@dataclass
class _Queued:
    pending: PendingEvent
    done: asyncio.Future[None]


class EventPersister:
    def __init__(
        self,
        storage: Storage,
        positions: Positions,
        on_committed: Callable[[Sequence[PendingEvent]], None],
        on_broken_rooms: Callable[[set[str]], None],
        max_batch: int = DEFAULT_MAX_BATCH,
        on_abandoned: Callable[[int], None] | None = None,
    ) -> None:
        self._on_abandoned = on_abandoned
        self._storage = storage
        self._positions = positions
        self._on_committed = on_committed
        self._on_broken_rooms = on_broken_rooms
        self._max_batch = max_batch
        self._queue: list[_Queued] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.events = 0

    def _abandon(self, position: int) -> None:
        if self._on_abandoned is not None:
            try:
                self._on_abandoned(position)
            except Exception:
                logger.exception("announcing an abandoned position failed")

    def submit(self, pending: PendingEvent) -> asyncio.Future[None]:
        """Queues the event (its stream position already reserved); the future
        completes when it is committed, or fails with the reason it was not.
        Either way its position is finished by then."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(pending, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_queued())
        return done

    async def drain(self) -> None:
        """Returns once every queued event is written (or has failed)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write_queued(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(self, batch: list[_Queued]) -> None:
        failures: dict[int, BaseException] = {}
        try:
            await self._storage.events.persist_events([q.pending for q in batch])
        except Exception as exc:
            if len(batch) == 1:
                failures[0] = exc
            else:
                failures = await self._write_one_by_one(batch)
        except BaseException:
            # Cancelled (shutdown): nothing of the batch is known to be written.
            for queued in batch:
                self._positions.finish(queued.pending.stream_ordering)
                queued.done.cancel()
            raise
        self._finish(batch, failures)

    async def _write_one_by_one(self, batch: Sequence[_Queued]) -> dict[int, BaseException]:
        failures: dict[int, BaseException] = {}
        broken: dict[str, BaseException] = {}
        for index, queued in enumerate(batch):
            room_id = queued.pending.room_id
            if room_id in broken:
                failures[index] = _earlier_failed(broken[room_id])
                continue
            try:
                await self._storage.events.persist_events([queued.pending])
            except Exception as exc:
                failures[index] = exc
                broken[room_id] = exc
        return failures

    def _finish(self, batch: Sequence[_Queued], failures: dict[int, BaseException]) -> None:
        if failures:
            causes = {batch[i].pending.room_id: exc for i, exc in failures.items()}
            rooms = set(causes)
            # Events queued behind a failed one of the same room were built on it.
            behind = [q for q in self._queue if q.pending.room_id in rooms]
            self._queue = [q for q in self._queue if q.pending.room_id not in rooms]
            self._on_broken_rooms(rooms)
            for queued in behind:
                self._abandon(queued.pending.stream_ordering)
                self._positions.finish(queued.pending.stream_ordering)
                _fail(queued, _earlier_failed(causes[queued.pending.room_id]))
            for index, exc in failures.items():
                logger.warning(
                    "event not persisted",
                    extra={
                        "event_id": batch[index].pending.event_id,
                        "room_id": batch[index].pending.room_id,
                        "error": repr(exc),
                    },
                )
        self.batches += 1
        self.events += len(batch) - len(failures)
        committed = [q.pending for i, q in enumerate(batch) if i not in failures]
        try:
            self._on_committed(committed)
        except Exception:
            logger.exception("announcing committed events failed")
        for index, queued in enumerate(batch):
            if index in failures:
                self._abandon(queued.pending.stream_ordering)
            self._positions.finish(queued.pending.stream_ordering)
            if index in failures:
                _fail(queued, failures[index])
            elif not queued.done.done():
                queued.done.set_result(None)


def _earlier_failed(cause: BaseException) -> RuntimeError:
    # Chained, so that a database outage behind it is still recognised as one.
    error = RuntimeError("an earlier event of this room failed to persist")
    error.__cause__ = cause
    return error


def _fail(queued: _Queued, exc: BaseException) -> None:
    if not queued.done.done():
        queued.done.set_exception(exc)
