"""Pushers (where a user's notifications go) and the reads the push worker
makes: an event's stored notification decisions."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, select

from homeserver.storage.base import Store, upsert
from homeserver.storage.push_rules import PushRuleStore
from homeserver.storage.receipts import PushAction
from homeserver.storage.tables import event_push_actions, pushers
from homeserver.util import json_dumps, json_loads

if TYPE_CHECKING:
    from homeserver.storage import Storage


@dataclass(frozen=True)
class Pusher:
    user_id: str
    app_id: str
    pushkey: str
    kind: str
    device_id: str | None
    app_display_name: str
    device_display_name: str
    profile_tag: str | None
    lang: str
    data: dict[str, Any]
    pushkey_ts: int  # milliseconds


def _pusher(row: Any) -> Pusher:
    return Pusher(
        user_id=row.user_id,
        app_id=row.app_id,
        pushkey=row.pushkey,
        kind=row.kind,
        device_id=row.device_id,
        app_display_name=row.app_display_name,
        device_display_name=row.device_display_name,
        profile_tag=row.profile_tag,
        lang=row.lang,
        data=dict(json_loads(row.data)),
        pushkey_ts=int(row.pushkey_ts),
    )


# How long the set of users with pushers is trusted without asking the database
# again; this process's own writes refresh it at once, this bounds how long a
# pusher set through another process goes unnoticed.
USERS_WITH_PUSHERS_TTL_SECONDS = 30.0


class PusherStore(Store):
    _users_with_pushers: frozenset[str] | None = None
    _users_loaded_at = 0.0
    _changes = 0

    async def users_with_pushers(self) -> frozenset[str]:
        """Every user with at least one pusher (most events notify nobody who
        has one: this spares the push worker its reads for them)."""
        now = time.monotonic()
        cached = self._users_with_pushers
        if cached is not None and now - self._users_loaded_at < USERS_WITH_PUSHERS_TTL_SECONDS:
            return cached
        changes = self._changes
        async with self.read() as conn:
            users = frozenset((await conn.scalars(select(pushers.c.user_id).distinct())).all())
        if changes == self._changes:
            # (Not if a write committed meanwhile: it may be missing.)
            self._users_with_pushers, self._users_loaded_at = users, now
        return users

    def _pushers_changed(self) -> None:
        self._changes += 1
        self._users_with_pushers = None

    async def set_pusher(self, pusher: Pusher, *, append: bool, max_per_user: int) -> bool:
        """Creates or updates the pusher (same user, app_id and pushkey). Unless
        `append`, other users' pushers with that app_id and pushkey go. False
        (and nothing changes) when the user already has `max_per_user` others."""
        async with self.write() as conn:
            key = and_(
                pushers.c.user_id == pusher.user_id,
                pushers.c.app_id == pusher.app_id,
                pushers.c.pushkey == pusher.pushkey,
            )
            existing_ts = await conn.scalar(select(pushers.c.pushkey_ts).where(key))
            if existing_ts is None:
                count = await conn.scalar(
                    select(func.count()).where(pushers.c.user_id == pusher.user_id)
                )
                if int(count or 0) >= max_per_user:
                    return False
            if not append:
                await conn.execute(
                    delete(pushers).where(
                        pushers.c.app_id == pusher.app_id,
                        pushers.c.pushkey == pusher.pushkey,
                        pushers.c.user_id != pusher.user_id,
                    )
                )
            await conn.execute(
                upsert(
                    conn,
                    pushers,
                    {
                        "user_id": pusher.user_id,
                        "app_id": pusher.app_id,
                        "pushkey": pusher.pushkey,
                        "kind": pusher.kind,
                        "device_id": pusher.device_id,
                        "app_display_name": pusher.app_display_name,
                        "device_display_name": pusher.device_display_name,
                        "profile_tag": pusher.profile_tag,
                        "lang": pusher.lang,
                        "data": json_dumps(pusher.data),
                        # When the pushkey was first set: it identifies the pusher.
                        "pushkey_ts": pusher.pushkey_ts if existing_ts is None else existing_ts,
                    },
                    ("user_id", "app_id", "pushkey"),
                )
            )
        self._pushers_changed()
        return True

    async def delete_pusher(self, user_id: str, app_id: str, pushkey: str) -> bool:
        async with self.write() as conn:
            result = await conn.execute(
                delete(pushers).where(
                    pushers.c.user_id == user_id,
                    pushers.c.app_id == app_id,
                    pushers.c.pushkey == pushkey,
                )
            )
        self._pushers_changed()
        return bool(result.rowcount)

    async def delete_user_pushers(self, user_id: str) -> int:
        """Removes every pusher of the user (their account is closing)."""
        async with self.write() as conn:
            result = await conn.execute(delete(pushers).where(pushers.c.user_id == user_id))
        self._pushers_changed()
        return int(result.rowcount or 0)

    async def delete_if_unchanged(self, pusher: Pusher) -> bool:
        """Removes the pusher unless it was set again (with other data) since
        it was read: a push service's "gone" refers to the old subscription."""
        async with self.write() as conn:
            result = await conn.execute(
                delete(pushers).where(
                    pushers.c.user_id == pusher.user_id,
                    pushers.c.app_id == pusher.app_id,
                    pushers.c.pushkey == pusher.pushkey,
                    pushers.c.data == json_dumps(pusher.data),
                )
            )
        self._pushers_changed()
        return bool(result.rowcount)

    async def get_pusher(self, user_id: str, app_id: str, pushkey: str) -> Pusher | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(pushers).where(
                        pushers.c.user_id == user_id,
                        pushers.c.app_id == app_id,
                        pushers.c.pushkey == pushkey,
                    )
                )
            ).first()
        return None if row is None else _pusher(row)

    async def pushers_for_users(self, user_ids: Sequence[str]) -> list[Pusher]:
        if not user_ids:
            return []
        async with self.read() as conn:
            rows = await conn.execute(
                select(pushers)
                .where(pushers.c.user_id.in_(list(user_ids)))
                .order_by(pushers.c.user_id, pushers.c.pushkey_ts, pushers.c.app_id)
            )
            return [_pusher(row) for row in rows]

    async def notifications_for_event(self, event_id: str) -> list[PushAction]:
        """The users the event notifies, with the actions their rules chose."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(
                    event_push_actions.c.user_id,
                    event_push_actions.c.notify,
                    event_push_actions.c.highlight,
                    event_push_actions.c.actions,
                )
                .where(
                    event_push_actions.c.event_id == event_id,
                    event_push_actions.c.notify.is_(True),
                )
                .order_by(event_push_actions.c.user_id)
            )
            return [
                PushAction(r.user_id, bool(r.notify), bool(r.highlight), json_loads(r.actions))
                for r in rows
            ]


def push_stores(storage: Storage) -> tuple[PushRuleStore, PusherStore]:
    """The push stores, on the storage's engine and taking turns with its other
    writers (SQLite has one writer at a time)."""
    write_lock = storage.account_data._write_lock
    return (
        PushRuleStore(storage.engine, write_lock),
        PusherStore(storage.engine, write_lock),
    )
