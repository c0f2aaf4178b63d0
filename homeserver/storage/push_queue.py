"""The durable push queue: pushes decided and not yet ended, and how far the
dispatcher has got through the event stream (push/dispatcher.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from homeserver.storage.base import Store
from homeserver.storage.tables import push_progress, push_queue
from homeserver.util import json_dumps, json_loads

if TYPE_CHECKING:
    from homeserver.storage import Storage

DISPATCHER = "dispatcher"


@dataclass(frozen=True)
class QueuedPush:
    user_id: str
    app_id: str
    pushkey: str
    event_id: str
    stream_ordering: int
    notification: dict[str, Any]

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.user_id, self.app_id, self.pushkey, self.event_id)


def _key_clause(push: QueuedPush) -> Any:
    return and_(
        push_queue.c.user_id == push.user_id,
        push_queue.c.app_id == push.app_id,
        push_queue.c.pushkey == push.pushkey,
        push_queue.c.event_id == push.event_id,
    )


class PushQueueStore(Store):
    async def progress(self) -> int | None:
        async with self.read() as conn:
            value = await conn.scalar(
                select(push_progress.c.stream_ordering).where(push_progress.c.name == DISPATCHER)
            )
        return None if value is None else int(value)

    async def set_progress(self, position: int) -> None:
        """Records the position (if it is further than the one recorded), and
        forgets ended pushes at or below it (no replay looks at them again)."""
        async with self.write() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(push_progress).values(
                name=DISPATCHER, stream_ordering=position
            )
            # Never backwards (an older process finishing late must not undo it).
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["name"],
                    set_={"stream_ordering": statement.excluded.stream_ordering},
                    where=push_progress.c.stream_ordering < statement.excluded.stream_ordering,
                )
            )
            await conn.execute(
                delete(push_queue).where(
                    push_queue.c.done.is_(True), push_queue.c.stream_ordering <= position
                )
            )

    async def add(self, pushes: Sequence[QueuedPush]) -> list[QueuedPush]:
        """Queues the pushes that are not queued (or ended) yet; returns those."""
        if not pushes:
            return []
        async with self.write() as conn:
            existing = {
                tuple(row)
                for row in await conn.execute(
                    select(
                        push_queue.c.user_id,
                        push_queue.c.app_id,
                        push_queue.c.pushkey,
                        push_queue.c.event_id,
                    ).where(push_queue.c.event_id.in_({p.event_id for p in pushes}))
                )
            }
            new = [p for p in pushes if p.key not in existing]
            if new:
                await conn.execute(
                    push_queue.insert(),
                    [
                        {
                            "user_id": p.user_id,
                            "app_id": p.app_id,
                            "pushkey": p.pushkey,
                            "event_id": p.event_id,
                            "stream_ordering": p.stream_ordering,
                            "notification": json_dumps(p.notification),
                            "done": False,
                        }
                        for p in new
                    ],
                )
        return new

    async def finish(self, push: QueuedPush) -> None:
        """The push was delivered, or given up on: not to be sent again."""
        async with self.write() as conn:
            await conn.execute(update(push_queue).where(_key_clause(push)).values(done=True))

    async def pending(self) -> list[QueuedPush]:
        """Pushes not ended, oldest event first."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(push_queue)
                .where(push_queue.c.done.is_(False))
                .order_by(push_queue.c.stream_ordering)
            )
            return [
                QueuedPush(
                    user_id=row.user_id,
                    app_id=row.app_id,
                    pushkey=row.pushkey,
                    event_id=row.event_id,
                    stream_ordering=int(row.stream_ordering),
                    notification=dict(json_loads(row.notification)),
                )
                for row in rows
            ]


def push_queue_store(storage: Storage) -> PushQueueStore:
    """On the storage's engine, taking turns with its other writers."""
    return PushQueueStore(storage.engine, storage.account_data._write_lock)
