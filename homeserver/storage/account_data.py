"""Per-user account data (global and per room), filters and room aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from homeserver.storage.base import Store, upsert
from homeserver.storage.tables import account_data, filters, room_aliases
from homeserver.util import json_dumps, json_loads


@dataclass(frozen=True)
class AccountDataItem:
    room_id: str  # "" for global
    type: str
    content: dict[str, Any]
    stream_ordering: int


class AccountDataStore(Store):
    async def put(
        self, user_id: str, room_id: str, data_type: str, content: dict[str, Any], position: int
    ) -> None:
        async with self.write() as conn:
            await conn.execute(
                upsert(
                    conn,
                    account_data,
                    {
                        "user_id": user_id,
                        "room_id": room_id,
                        "type": data_type,
                        "content": json_dumps(content),
                        "stream_ordering": position,
                    },
                    ("user_id", "room_id", "type"),
                )
            )

    async def get(self, user_id: str, room_id: str, data_type: str) -> dict[str, Any] | None:
        async with self.read() as conn:
            text = await conn.scalar(
                select(account_data.c.content).where(
                    account_data.c.user_id == user_id,
                    account_data.c.room_id == room_id,
                    account_data.c.type == data_type,
                )
            )
        return None if text is None else dict(json_loads(text))

    async def erase_user(self, user_id: str) -> None:
        """Removes all of the user's account data and saved filters."""
        async with self.write() as conn:
            await conn.execute(delete(account_data).where(account_data.c.user_id == user_id))
            await conn.execute(delete(filters).where(filters.c.user_id == user_id))

    async def changed_since(self, user_id: str, after: int, upto: int) -> list[AccountDataItem]:
        async with self.read() as conn:
            rows = await conn.execute(
                select(account_data)
                .where(
                    account_data.c.user_id == user_id,
                    account_data.c.stream_ordering > after,
                    account_data.c.stream_ordering <= upto,
                )
                .order_by(account_data.c.stream_ordering)
            )
            return [
                AccountDataItem(r.room_id, r.type, json_loads(r.content), int(r.stream_ordering))
                for r in rows
            ]

    async def get_max_stream_ordering(self) -> int:
        async with self.read() as conn:
            value = await conn.scalar(select(func.max(account_data.c.stream_ordering)))
        return int(value or 0)

    # -- filters ---------------------------------------------------------------

    async def add_filter(self, user_id: str, definition: dict[str, Any]) -> int:
        for _ in range(5):
            try:
                async with self.write() as conn:
                    current = await conn.scalar(
                        select(func.max(filters.c.filter_id)).where(filters.c.user_id == user_id)
                    )
                    filter_id = int(current or 0) + 1
                    await conn.execute(
                        insert(filters).values(
                            user_id=user_id, filter_id=filter_id, definition=json_dumps(definition)
                        )
                    )
                return filter_id
            except IntegrityError:  # another request took that id: take the next
                continue
        raise RuntimeError("could not allocate a filter id")

    async def get_filter(self, user_id: str, filter_id: int) -> dict[str, Any] | None:
        async with self.read() as conn:
            text = await conn.scalar(
                select(filters.c.definition).where(
                    filters.c.user_id == user_id, filters.c.filter_id == filter_id
                )
            )
        return None if text is None else dict(json_loads(text))

    # -- aliases ---------------------------------------------------------------

    async def create_alias(self, alias: str, room_id: str, creator: str) -> bool:
        try:
            async with self.write() as conn:
                exists = await conn.scalar(
                    select(room_aliases.c.alias).where(room_aliases.c.alias == alias)
                )
                if exists is not None:
                    return False
                await conn.execute(
                    insert(room_aliases).values(alias=alias, room_id=room_id, creator=creator)
                )
        except IntegrityError:
            return False
        return True

    async def get_alias(self, alias: str) -> tuple[str, str] | None:
        """(room_id, creator) for an alias."""
        async with self.read() as conn:
            row = (
                await conn.execute(select(room_aliases).where(room_aliases.c.alias == alias))
            ).first()
        return None if row is None else (row.room_id, row.creator)

    async def delete_alias(self, alias: str) -> None:
        async with self.write() as conn:
            await conn.execute(delete(room_aliases).where(room_aliases.c.alias == alias))

    async def aliases_for_room(self, room_id: str) -> list[str]:
        async with self.read() as conn:
            rows = await conn.execute(
                select(room_aliases.c.alias)
                .where(room_aliases.c.room_id == room_id)
                .order_by(room_aliases.c.alias)
            )
            return [r.alias for r in rows]
