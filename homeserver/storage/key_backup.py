"""Server-side key backup: backup versions and the encrypted room keys in them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from homeserver.storage.base import Store
from homeserver.storage.tables import room_key_backup_keys, room_key_backup_versions

# Tries at a fresh version number when concurrent creations collide.
CREATE_ATTEMPTS = 8


@dataclass(frozen=True)
class BackupVersion:
    version: int
    algorithm: str
    auth_data: str  # JSON text
    etag: int


@dataclass(frozen=True)
class BackedUpKey:
    room_id: str
    session_id: str
    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: str  # JSON text


def _replaces(new: BackedUpKey, old: BackedUpKey) -> bool:
    """The spec's rule for which of two keys of a session the backup keeps:
    the verified one; then the lower first_message_index; then the lower
    forwarded_count (the old one on a tie)."""
    if new.is_verified != old.is_verified:
        return new.is_verified
    if new.first_message_index != old.first_message_index:
        return new.first_message_index < old.first_message_index
    return new.forwarded_count < old.forwarded_count


class KeyBackupStore(Store):
    async def create_version(self, user_id: str, algorithm: str, auth_data: str) -> int:
        """The next version number of the user's backups. Two concurrent
        creations may pick the same number; the loser's insert then hits the
        primary key and it picks again, so each gets a version of its own."""
        for _ in range(CREATE_ATTEMPTS - 1):
            try:
                return await self._insert_next_version(user_id, algorithm, auth_data)
            except IntegrityError:
                continue
        return await self._insert_next_version(user_id, algorithm, auth_data)

    async def _insert_next_version(self, user_id: str, algorithm: str, auth_data: str) -> int:
        table = room_key_backup_versions
        async with self.write() as conn:
            newest = await conn.scalar(
                select(func.max(table.c.version)).where(table.c.user_id == user_id)
            )
            version = int(newest or 0) + 1
            await conn.execute(
                insert(table).values(
                    user_id=user_id,
                    version=version,
                    algorithm=algorithm,
                    auth_data=auth_data,
                    etag=0,
                    deleted=False,
                )
            )
        return version

    async def get_version(self, user_id: str, version: int | None) -> BackupVersion | None:
        """The version (the newest one with None), unless deleted."""
        table = room_key_backup_versions
        query = select(table).where(table.c.user_id == user_id, table.c.deleted.is_(False))
        if version is None:
            query = query.order_by(table.c.version.desc()).limit(1)
        else:
            query = query.where(table.c.version == version)
        async with self.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return BackupVersion(int(row.version), row.algorithm, row.auth_data, int(row.etag))

    async def update_version(self, user_id: str, version: int, auth_data: str) -> bool:
        table = room_key_backup_versions
        async with self.write() as conn:
            result = await conn.execute(
                update(table)
                .where(
                    table.c.user_id == user_id,
                    table.c.version == version,
                    table.c.deleted.is_(False),
                )
                .values(auth_data=auth_data)
            )
        return bool(result.rowcount)

    async def delete_version(self, user_id: str, version: int) -> bool:
        versions = room_key_backup_versions
        keys = room_key_backup_keys
        async with self.write() as conn:
            result = await conn.execute(
                update(versions)
                .where(
                    versions.c.user_id == user_id,
                    versions.c.version == version,
                    versions.c.deleted.is_(False),
                )
                .values(deleted=True)
            )
            await conn.execute(
                delete(keys).where(keys.c.user_id == user_id, keys.c.version == version)
            )
        return bool(result.rowcount)

    async def count_keys(self, user_id: str, version: int) -> int:
        keys = room_key_backup_keys
        async with self.read() as conn:
            value = await conn.scalar(
                select(func.count()).where(keys.c.user_id == user_id, keys.c.version == version)
            )
        return int(value or 0)

    async def put_keys(self, user_id: str, version: int, new_keys: Sequence[BackedUpKey]) -> bool:
        """Stores each key unless the backup holds a better one for its
        session; the etag changes when anything changed. False (nothing
        stored) when the version no longer exists.

        Concurrent uploads to one backup take turns: the version's row is
        locked first (PostgreSQL; SQLite writes one at a time anyway), so a
        key another upload inserted meanwhile is seen and compared, never
        inserted twice (which was a unique violation, a 500)."""
        keys = room_key_backup_keys
        versions = room_key_backup_versions
        async with self.write() as conn:
            live = await conn.scalar(
                select(versions.c.version)
                .where(
                    versions.c.user_id == user_id,
                    versions.c.version == version,
                    versions.c.deleted.is_(False),
                )
                .with_for_update()
            )
            if live is None:
                return False
            changed = False
            for key in new_keys:
                row = (
                    await conn.execute(
                        select(keys).where(
                            keys.c.user_id == user_id,
                            keys.c.version == version,
                            keys.c.room_id == key.room_id,
                            keys.c.session_id == key.session_id,
                        )
                    )
                ).first()
                values = {
                    "first_message_index": key.first_message_index,
                    "forwarded_count": key.forwarded_count,
                    "is_verified": key.is_verified,
                    "session_data": key.session_data,
                }
                if row is None:
                    await conn.execute(
                        insert(keys).values(
                            user_id=user_id,
                            version=version,
                            room_id=key.room_id,
                            session_id=key.session_id,
                            **values,
                        )
                    )
                    changed = True
                elif _replaces(key, _backed_up(row)):
                    await conn.execute(
                        update(keys)
                        .where(
                            keys.c.user_id == user_id,
                            keys.c.version == version,
                            keys.c.room_id == key.room_id,
                            keys.c.session_id == key.session_id,
                        )
                        .values(**values)
                    )
                    changed = True
            if changed:
                await self._bump_etag(conn, user_id, version)
        return True

    async def get_keys(
        self, user_id: str, version: int, room_id: str | None, session_id: str | None
    ) -> list[BackedUpKey]:
        keys = room_key_backup_keys
        conditions = [keys.c.user_id == user_id, keys.c.version == version]
        if room_id is not None:
            conditions.append(keys.c.room_id == room_id)
        if session_id is not None:
            conditions.append(keys.c.session_id == session_id)
        async with self.read() as conn:
            rows = await conn.execute(
                select(keys).where(*conditions).order_by(keys.c.room_id, keys.c.session_id)
            )
            return [_backed_up(r) for r in rows]

    async def delete_keys(
        self, user_id: str, version: int, room_id: str | None, session_id: str | None
    ) -> None:
        keys = room_key_backup_keys
        conditions = [keys.c.user_id == user_id, keys.c.version == version]
        if room_id is not None:
            conditions.append(keys.c.room_id == room_id)
        if session_id is not None:
            conditions.append(keys.c.session_id == session_id)
        async with self.write() as conn:
            result = await conn.execute(delete(keys).where(*conditions))
            if result.rowcount:
                await self._bump_etag(conn, user_id, version)

    async def erase_user(self, user_id: str) -> None:
        """Every backup version of the user and every key in them, for good."""
        async with self.write() as conn:
            await conn.execute(
                delete(room_key_backup_keys).where(room_key_backup_keys.c.user_id == user_id)
            )
            await conn.execute(
                delete(room_key_backup_versions).where(
                    room_key_backup_versions.c.user_id == user_id
                )
            )

    @staticmethod
    async def _bump_etag(conn: AsyncConnection, user_id: str, version: int) -> None:
        versions = room_key_backup_versions
        await conn.execute(
            update(versions)
            .where(versions.c.user_id == user_id, versions.c.version == version)
            .values(etag=versions.c.etag + 1)
        )


def _backed_up(row: Any) -> BackedUpKey:
    return BackedUpKey(
        row.room_id,
        row.session_id,
        int(row.first_message_index),
        int(row.forwarded_count),
        bool(row.is_verified),
        row.session_data,
    )
