"""The presence snapshot: written in batches, read at start-up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from homeserver.storage.base import Store, upsert
from homeserver.storage.tables import presence


@dataclass(frozen=True)
class PresenceRow:
    user_id: str
    state: str
    status_msg: str | None
    last_active_ts: int


class PresenceStore(Store):
    async def save(self, rows: Sequence[tuple[str, str, str | None, int]], now: int) -> None:
        async with self.write() as conn:
            for user_id, state, status_msg, last_active_ts in rows:
                await conn.execute(
                    upsert(
                        conn,
                        presence,
                        {
                            "user_id": user_id,
                            "state": state,
                            "status_msg": status_msg,
                            "last_active_ts": last_active_ts,
                            "updated_ts": now,
                        },
                        ("user_id",),
                    )
                )

    async def load_all(self) -> list[PresenceRow]:
        async with self.read() as conn:
            rows = await conn.execute(select(presence))
            return [
                PresenceRow(r.user_id, r.state, r.status_msg, int(r.last_active_ts)) for r in rows
            ]
