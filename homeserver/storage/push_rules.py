"""Each user's changes to their push rules (one JSON document per user), and
their publication as `m.push_rules` account data, written together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from homeserver.storage.base import Store, upsert
from homeserver.storage.tables import account_data, push_rules
from homeserver.util import json_dumps, json_loads, now_ms

PUSH_RULES_ACCOUNT_DATA = "m.push_rules"


class PushRuleStore(Store):
    async def get(self, user_id: str) -> dict[str, Any] | None:
        async with self.read() as conn:
            text = await conn.scalar(
                select(push_rules.c.rules).where(push_rules.c.user_id == user_id)
            )
        return None if text is None else dict(json_loads(text))

    async def edit(
        self,
        user_id: str,
        edit: Callable[[dict[str, Any] | None], dict[str, Any]],
        publish: Callable[[dict[str, Any]], dict[str, Any]],
        position: int,
    ) -> dict[str, Any]:
        """In one transaction: reads the user's document (locking the row on
        PostgreSQL), stores `edit(document)`, and stores `publish(new document)`
        as the user's `m.push_rules` account data at stream `position`.
        Whatever `edit` raises rolls everything back."""
        async with self.write() as conn:
            text = await conn.scalar(
                select(push_rules.c.rules).where(push_rules.c.user_id == user_id).with_for_update()
            )
            document = edit(None if text is None else dict(json_loads(text)))
            await conn.execute(
                upsert(
                    conn,
                    push_rules,
                    {"user_id": user_id, "rules": json_dumps(document), "updated_ts": now_ms()},
                    ("user_id",),
                )
            )
            await conn.execute(
                upsert(
                    conn,
                    account_data,
                    {
                        "user_id": user_id,
                        "room_id": "",
                        "type": PUSH_RULES_ACCOUNT_DATA,
                        "content": json_dumps(publish(document)),
                        "stream_ordering": position,
                    },
                    ("user_id", "room_id", "type"),
                )
            )
        return document
