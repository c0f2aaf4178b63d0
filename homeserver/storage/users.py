"""Accounts, devices and access-token sessions.

A method that revokes sessions, removes devices or changes what a verified
token says about its user (admin, deactivated) announces it on
`AuthChanges` after committing, so that cached tokens die with it. Removed
devices are also handed to the removal listeners (their encryption keys and
to-device inbox go with them), awaited before the method returns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from homeserver.storage.auth_changes import AuthChanges
from homeserver.storage.base import Store
from homeserver.storage.tables import devices, sessions, users

# (user_id, removed device ids), after the removal committed.
DevicesRemovedListener = Callable[[str, list[str]], Awaitable[None]]


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    password_hash: str | None
    displayname: str | None
    avatar_url: str | None
    is_admin: bool
    deactivated: bool


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    user_id: str
    device_id: str
    expires_ts: int
    revoked: bool


@dataclass(frozen=True)
class DeviceRecord:
    device_id: str
    display_name: str | None
    last_seen_ts: int | None
    last_seen_ip: str | None


class UserStore(Store):
    def __init__(
        self, engine: AsyncEngine, write_lock: asyncio.Lock | None, changes: AuthChanges
    ) -> None:
        super().__init__(engine, write_lock)
        self._changes = changes
        self._removal_listeners: list[DevicesRemovedListener] = []

    def add_devices_removed_listener(self, listener: DevicesRemovedListener) -> None:
        self._removal_listeners.append(listener)

    async def _devices_removed(self, user_id: str, device_ids: list[str]) -> None:
        if device_ids:
            for listener in self._removal_listeners:
                await listener(user_id, device_ids)

    async def create_user(
        self,
        user_id: str,
        password_hash: str | None,
        displayname: str | None,
        is_admin: bool,
        now: int,
    ) -> bool:
        """Returns False when the user id is already taken."""
        try:
            async with self.write() as conn:
                existing = await conn.scalar(
                    select(users.c.user_id).where(users.c.user_id == user_id)
                )
                if existing is not None:
                    return False
                await conn.execute(
                    insert(users).values(
                        user_id=user_id,
                        password_hash=password_hash,
                        displayname=displayname,
                        is_admin=is_admin,
                        deactivated=False,
                        created_ts=now,
                    )
                )
        except IntegrityError:  # lost a race with another registration
            return False
        return True

    async def get_user(self, user_id: str) -> UserRecord | None:
        async with self.read() as conn:
            row = (await conn.execute(select(users).where(users.c.user_id == user_id))).first()
        if row is None:
            return None
        return UserRecord(
            user_id=row.user_id,
            password_hash=row.password_hash,
            displayname=row.displayname,
            avatar_url=row.avatar_url,
            is_admin=bool(row.is_admin),
            deactivated=bool(row.deactivated),
        )

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        async with self.write() as conn:
            await conn.execute(
                update(users).where(users.c.user_id == user_id).values(password_hash=password_hash)
            )

    async def set_admin(self, user_id: str, is_admin: bool) -> None:
        async with self.write() as conn:
            await conn.execute(
                update(users).where(users.c.user_id == user_id).values(is_admin=is_admin)
            )
        self._changes.changed(user_id)

    async def deactivate(self, user_id: str) -> None:
        """Marks the account deactivated: its tokens stop working at once."""
        async with self.write() as conn:
            await conn.execute(
                update(users).where(users.c.user_id == user_id).values(deactivated=True)
            )
        self._changes.changed(user_id)

    async def set_profile_field(self, user_id: str, field: str, value: str | None) -> None:
        if field not in ("displayname", "avatar_url"):
            raise ValueError(field)
        async with self.write() as conn:
            await conn.execute(
                update(users).where(users.c.user_id == user_id).values({field: value})
            )

    async def search_users(self, term: str, limit: int) -> list[UserRecord]:
        """Case-insensitive substring search over user ids and display names."""
        escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = (
            select(users)
            .where(
                users.c.deactivated.is_(False),
                or_(
                    func.lower(users.c.user_id).like(pattern, escape="\\"),
                    func.lower(users.c.displayname).like(pattern, escape="\\"),
                ),
            )
            .order_by(users.c.user_id)
            .limit(limit)
        )
        async with self.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            UserRecord(r.user_id, None, r.displayname, r.avatar_url, bool(r.is_admin), False)
            for r in rows
        ]

    # -- devices -----------------------------------------------------------

    async def upsert_device(
        self, user_id: str, device_id: str, display_name: str | None, now: int, ip: str | None
    ) -> None:
        async with self.write() as conn:
            exists = await conn.scalar(
                select(devices.c.device_id).where(
                    devices.c.user_id == user_id, devices.c.device_id == device_id
                )
            )
            if exists is None:
                await conn.execute(
                    insert(devices).values(
                        user_id=user_id,
                        device_id=device_id,
                        display_name=display_name,
                        created_ts=now,
                        last_seen_ts=now,
                        last_seen_ip=ip,
                    )
                )
            else:
                values: dict[str, object] = {"last_seen_ts": now, "last_seen_ip": ip}
                if display_name is not None:
                    values["display_name"] = display_name
                await conn.execute(
                    update(devices)
                    .where(devices.c.user_id == user_id, devices.c.device_id == device_id)
                    .values(values)
                )

    async def list_devices(self, user_id: str) -> list[DeviceRecord]:
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(devices)
                    .where(devices.c.user_id == user_id)
                    .order_by(devices.c.device_id)
                )
            ).all()
        return [
            DeviceRecord(r.device_id, r.display_name, r.last_seen_ts, r.last_seen_ip) for r in rows
        ]

    async def get_device(self, user_id: str, device_id: str) -> DeviceRecord | None:
        async with self.read() as conn:
            r = (
                await conn.execute(
                    select(devices).where(
                        devices.c.user_id == user_id, devices.c.device_id == device_id
                    )
                )
            ).first()
        return (
            None
            if r is None
            else DeviceRecord(r.device_id, r.display_name, r.last_seen_ts, r.last_seen_ip)
        )

    async def rename_device(self, user_id: str, device_id: str, display_name: str) -> None:
        async with self.write() as conn:
            await conn.execute(
                update(devices)
                .where(devices.c.user_id == user_id, devices.c.device_id == device_id)
                .values(display_name=display_name)
            )

    async def delete_devices(self, user_id: str, device_ids: list[str], now: int) -> None:
        """Removes the devices and revokes every session on them."""
        async with self.write() as conn:
            removed = list(
                (
                    await conn.execute(
                        select(devices.c.device_id).where(
                            devices.c.user_id == user_id, devices.c.device_id.in_(device_ids)
                        )
                    )
                ).scalars()
            )
            await conn.execute(
                update(sessions)
                .where(
                    sessions.c.user_id == user_id,
                    sessions.c.device_id.in_(device_ids),
                    sessions.c.revoked_ts.is_(None),
                )
                .values(revoked_ts=now)
            )
            await conn.execute(
                delete(devices).where(
                    devices.c.user_id == user_id, devices.c.device_id.in_(device_ids)
                )
            )
        self._changes.changed(user_id, device_ids)
        await self._devices_removed(user_id, removed)

    # -- sessions ----------------------------------------------------------

    async def create_session(
        self, session_id: str, user_id: str, device_id: str, now: int, expires_ts: int
    ) -> None:
        async with self.write() as conn:
            await conn.execute(
                insert(sessions).values(
                    session_id=session_id,
                    user_id=user_id,
                    device_id=device_id,
                    created_ts=now,
                    expires_ts=expires_ts,
                    revoked_ts=None,
                )
            )

    async def get_session(self, session_id: str) -> SessionRecord | None:
        async with self.read() as conn:
            r = (
                await conn.execute(select(sessions).where(sessions.c.session_id == session_id))
            ).first()
        if r is None:
            return None
        return SessionRecord(
            r.session_id, r.user_id, r.device_id, r.expires_ts, r.revoked_ts is not None
        )

    async def revoke_sessions(
        self,
        user_id: str,
        now: int,
        *,
        except_device: str | None = None,
        device_id: str | None = None,
    ) -> list[str]:
        """Revokes the user's live sessions (all, one device's, or all but one
        device's) and returns the revoked session ids."""
        conditions = [sessions.c.user_id == user_id, sessions.c.revoked_ts.is_(None)]
        if device_id is not None:
            conditions.append(sessions.c.device_id == device_id)
        if except_device is not None:
            conditions.append(sessions.c.device_id != except_device)
        async with self.write() as conn:
            ids = list(
                (await conn.execute(select(sessions.c.session_id).where(and_(*conditions))))
                .scalars()
                .all()
            )
            if ids:
                await conn.execute(
                    update(sessions).where(sessions.c.session_id.in_(ids)).values(revoked_ts=now)
                )
        if ids:
            # All but one device: the kept one's tokens are verified once more.
            self._changes.changed(user_id, None if device_id is None else [device_id])
        return ids

    async def delete_devices_except(self, user_id: str, keep_device: str | None) -> None:
        condition = [devices.c.user_id == user_id]
        if keep_device is not None:
            condition.append(devices.c.device_id != keep_device)
        async with self.write() as conn:
            removed = list(
                (await conn.execute(select(devices.c.device_id).where(*condition))).scalars()
            )
            await conn.execute(delete(devices).where(*condition))
        await self._devices_removed(user_id, removed)
