"""Device keys, one-time and fallback keys, cross-signing keys and the
signatures on them, and the positions at which users' devices changed.

Key objects are stored as the JSON text the client uploaded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from homeserver.storage.base import Store, upsert
from homeserver.storage.tables import (
    device_list_changes,
    e2e_cross_signing_keys,
    e2e_device_keys,
    e2e_fallback_keys,
    e2e_key_signatures,
    e2e_one_time_keys,
    events,
    memberships,
)


@dataclass(frozen=True)
class NewKey:
    algorithm: str
    key_id: str
    key_json: str


@dataclass(frozen=True)
class ClaimedKey:
    user_id: str
    device_id: str
    algorithm: str
    key_id: str
    key_json: str


@dataclass(frozen=True)
class CrossSigningKey:
    key_type: str
    public_key: str
    key_json: str


@dataclass(frozen=True)
class Signature:
    user_id: str  # whose key is signed
    key_id: str  # a device id or a cross-signing public key
    signer_user_id: str
    signer_key_id: str
    signature: str


class ConflictingKeyError(Exception):
    """A one-time key id was uploaded again with other content."""

    def __init__(self, key_id: str) -> None:
        super().__init__(key_id)
        self.key_id = key_id


class E2eeKeyStore(Store):
    # -- device keys -------------------------------------------------------

    async def get_device_keys_json(self, user_id: str, device_id: str) -> str | None:
        async with self.read() as conn:
            value = await conn.scalar(
                select(e2e_device_keys.c.key_json).where(
                    e2e_device_keys.c.user_id == user_id, e2e_device_keys.c.device_id == device_id
                )
            )
        return None if value is None else str(value)

    async def set_device_keys(self, user_id: str, device_id: str, key_json: str) -> None:
        async with self.write() as conn:
            await conn.execute(
                upsert(
                    conn,
                    e2e_device_keys,
                    {"user_id": user_id, "device_id": device_id, "key_json": key_json},
                    ("user_id", "device_id"),
                )
            )

    async def query_device_keys(self, wanted: dict[str, list[str]]) -> dict[str, dict[str, str]]:
        """Stored device keys of the users (all their devices when the list is
        empty): user -> device -> key JSON."""
        if not wanted:
            return {}
        conditions = []
        for user_id, device_ids in wanted.items():
            if device_ids:
                conditions.append(
                    and_(
                        e2e_device_keys.c.user_id == user_id,
                        e2e_device_keys.c.device_id.in_(device_ids),
                    )
                )
            else:
                conditions.append(e2e_device_keys.c.user_id == user_id)
        found: dict[str, dict[str, str]] = {}
        async with self.read() as conn:
            rows = await conn.execute(select(e2e_device_keys).where(or_(*conditions)))
            for r in rows:
                found.setdefault(r.user_id, {})[r.device_id] = r.key_json
        return found

    # -- one-time and fallback keys -----------------------------------------

    async def add_one_time_keys(self, user_id: str, device_id: str, keys: list[NewKey]) -> None:
        """Adds the keys; one already stored with the same content is skipped,
        with other content it raises ConflictingKeyError (and nothing is added)."""
        if not keys:
            return
        table = e2e_one_time_keys
        async with self.write() as conn:
            rows = await conn.execute(
                select(table.c.algorithm, table.c.key_id, table.c.key_json).where(
                    table.c.user_id == user_id,
                    table.c.device_id == device_id,
                    table.c.key_id.in_([k.key_id for k in keys]),
                )
            )
            existing = {(r.algorithm, r.key_id): r.key_json for r in rows}
            new = []
            for key in keys:
                stored = existing.get((key.algorithm, key.key_id))
                if stored is None:
                    new.append(key)
                elif stored != key.key_json:
                    raise ConflictingKeyError(f"{key.algorithm}:{key.key_id}")
            if new:
                await conn.execute(
                    insert(table),
                    [
                        {
                            "user_id": user_id,
                            "device_id": device_id,
                            "algorithm": k.algorithm,
                            "key_id": k.key_id,
                            "key_json": k.key_json,
                        }
                        for k in new
                    ],
                )

    async def set_fallback_keys(self, user_id: str, device_id: str, keys: list[NewKey]) -> None:
        """Replaces the device's fallback key of each algorithm given (a
        re-upload of the same key keeps whether it was used)."""
        table = e2e_fallback_keys
        async with self.write() as conn:
            for key in keys:
                stored = (
                    await conn.execute(
                        select(table.c.key_id, table.c.key_json).where(
                            table.c.user_id == user_id,
                            table.c.device_id == device_id,
                            table.c.algorithm == key.algorithm,
                        )
                    )
                ).first()
                if stored is not None and (stored.key_id, stored.key_json) == (
                    key.key_id,
                    key.key_json,
                ):
                    continue
                await conn.execute(
                    upsert(
                        conn,
                        table,
                        {
                            "user_id": user_id,
                            "device_id": device_id,
                            "algorithm": key.algorithm,
                            "key_id": key.key_id,
                            "key_json": key.key_json,
                            "used": False,
                        },
                        ("user_id", "device_id", "algorithm"),
                    )
                )

    async def count_one_time_keys(
        self, user_id: str, device_id: str
    ) -> tuple[dict[str, int], list[str]]:
        """Unclaimed one-time keys per algorithm, and the algorithms of the
        device's unused fallback keys."""
        otk = e2e_one_time_keys
        fallback = e2e_fallback_keys
        async with self.read() as conn:
            rows = await conn.execute(
                select(otk.c.algorithm, func.count())
                .where(otk.c.user_id == user_id, otk.c.device_id == device_id)
                .group_by(otk.c.algorithm)
            )
            counts = {r[0]: int(r[1]) for r in rows}
            unused = await conn.execute(
                select(fallback.c.algorithm).where(
                    fallback.c.user_id == user_id,
                    fallback.c.device_id == device_id,
                    fallback.c.used.is_(False),
                )
            )
            types = sorted(r.algorithm for r in unused)
        return counts, types

    async def claim_keys(self, wanted: Sequence[tuple[str, str, str]]) -> list[ClaimedKey]:
        """For each (user, device, algorithm): one one-time key, removed as it
        is handed out so that no two claims ever get the same key; or, when
        none is left, the device's fallback key (marked used, not removed)."""
        claimed: list[ClaimedKey] = []
        async with self.write() as conn:
            for user_id, device_id, algorithm in wanted:
                key = await self._take_one_time_key(conn, user_id, device_id, algorithm)
                if key is None:
                    key = await self._use_fallback_key(conn, user_id, device_id, algorithm)
                if key is not None:
                    claimed.append(ClaimedKey(user_id, device_id, algorithm, *key))
        return claimed

    @staticmethod
    async def _take_one_time_key(
        conn: AsyncConnection, user_id: str, device_id: str, algorithm: str
    ) -> tuple[str, str] | None:
        otk = e2e_one_time_keys
        of_device = (
            otk.c.user_id == user_id,
            otk.c.device_id == device_id,
            otk.c.algorithm == algorithm,
        )
        while True:
            # SKIP LOCKED (PostgreSQL): concurrent claims take different keys
            # rather than queueing on one; SQLite has one writer at a time.
            row = (
                await conn.execute(
                    select(otk.c.key_id, otk.c.key_json)
                    .where(*of_device)
                    .order_by(otk.c.key_id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                return None
            removed = await conn.execute(delete(otk).where(*of_device, otk.c.key_id == row.key_id))
            if removed.rowcount == 1:
                return str(row.key_id), str(row.key_json)

    @staticmethod
    async def _use_fallback_key(
        conn: AsyncConnection, user_id: str, device_id: str, algorithm: str
    ) -> tuple[str, str] | None:
        fallback = e2e_fallback_keys
        of_device = (
            fallback.c.user_id == user_id,
            fallback.c.device_id == device_id,
            fallback.c.algorithm == algorithm,
        )
        row = (
            await conn.execute(select(fallback.c.key_id, fallback.c.key_json).where(*of_device))
        ).first()
        if row is None:
            return None
        await conn.execute(update(fallback).where(*of_device).values(used=True))
        return str(row.key_id), str(row.key_json)

    # -- cross-signing keys and signatures -----------------------------------

    async def get_cross_signing_keys(
        self, user_ids: Iterable[str]
    ) -> dict[str, dict[str, CrossSigningKey]]:
        """user -> key type (master, self_signing, user_signing) -> key."""
        ids = list(user_ids)
        if not ids:
            return {}
        table = e2e_cross_signing_keys
        found: dict[str, dict[str, CrossSigningKey]] = {}
        async with self.read() as conn:
            rows = await conn.execute(select(table).where(table.c.user_id.in_(ids)))
            for r in rows:
                found.setdefault(r.user_id, {})[r.key_type] = CrossSigningKey(
                    r.key_type, r.public_key, r.key_json
                )
        return found

    async def set_cross_signing_keys(self, user_id: str, keys: list[CrossSigningKey]) -> None:
        table = e2e_cross_signing_keys
        async with self.write() as conn:
            for key in keys:
                await conn.execute(
                    upsert(
                        conn,
                        table,
                        {
                            "user_id": user_id,
                            "key_type": key.key_type,
                            "public_key": key.public_key,
                            "key_json": key.key_json,
                        },
                        ("user_id", "key_type"),
                    )
                )

    async def add_signatures(self, signatures: list[Signature]) -> None:
        if not signatures:
            return
        async with self.write() as conn:
            for s in signatures:
                await conn.execute(
                    upsert(
                        conn,
                        e2e_key_signatures,
                        {
                            "user_id": s.user_id,
                            "key_id": s.key_id,
                            "signer_user_id": s.signer_user_id,
                            "signer_key_id": s.signer_key_id,
                            "signature": s.signature,
                        },
                        ("user_id", "key_id", "signer_user_id", "signer_key_id"),
                    )
                )

    async def get_signatures(self, user_ids: Iterable[str]) -> list[Signature]:
        """Every stored signature on keys of these users."""
        ids = list(user_ids)
        if not ids:
            return []
        table = e2e_key_signatures
        async with self.read() as conn:
            rows = await conn.execute(select(table).where(table.c.user_id.in_(ids)))
            return [
                Signature(r.user_id, r.key_id, r.signer_user_id, r.signer_key_id, r.signature)
                for r in rows
            ]

    # -- removal and changes ----------------------------------------------

    async def delete_devices(self, user_id: str, device_ids: Sequence[str]) -> None:
        """Removes everything held for the devices: keys and signatures on them."""
        if not device_ids:
            return
        ids = list(device_ids)
        async with self.write() as conn:
            for table in (e2e_device_keys, e2e_one_time_keys, e2e_fallback_keys):
                await conn.execute(
                    delete(table).where(table.c.user_id == user_id, table.c.device_id.in_(ids))
                )
            signatures = e2e_key_signatures
            await conn.execute(
                delete(signatures).where(
                    signatures.c.user_id == user_id, signatures.c.key_id.in_(ids)
                )
            )

    async def get_device_list_position(self, user_id: str) -> int | None:
        """The position of the user's latest device list change, if any."""
        async with self.read() as conn:
            value = await conn.scalar(
                select(device_list_changes.c.stream_ordering).where(
                    device_list_changes.c.user_id == user_id
                )
            )
        return None if value is None else int(value)

    async def erase_user(self, user_id: str) -> None:
        """A closed account's keys, whatever device they belong to (one no
        longer in the devices table included): device, one-time, fallback and
        cross-signing keys, the signatures on them and those it made."""
        async with self.write() as conn:
            for table in (
                e2e_device_keys,
                e2e_one_time_keys,
                e2e_fallback_keys,
                e2e_cross_signing_keys,
            ):
                await conn.execute(delete(table).where(table.c.user_id == user_id))
            signatures = e2e_key_signatures
            await conn.execute(
                delete(signatures).where(
                    or_(signatures.c.user_id == user_id, signatures.c.signer_user_id == user_id)
                )
            )

    async def mark_device_list_changed(self, user_id: str, position: int) -> None:
        async with self.write() as conn:
            await conn.execute(
                upsert(
                    conn,
                    device_list_changes,
                    {"user_id": user_id, "stream_ordering": position},
                    ("user_id",),
                )
            )

    async def changed_users_sharing(
        self, user_id: str, room_ids: Sequence[str], after: int, upto: int
    ) -> set[str]:
        """Users whose devices changed in (after, upto] and who are the user or
        joined to one of the rooms."""
        changes = device_list_changes
        in_range = (changes.c.stream_ordering > after, changes.c.stream_ordering <= upto)
        async with self.read() as conn:
            changed: set[str] = set()
            if await conn.scalar(
                select(changes.c.user_id).where(changes.c.user_id == user_id, *in_range)
            ):
                changed.add(user_id)
            if room_ids:
                rows = await conn.execute(
                    select(changes.c.user_id)
                    .join(memberships, memberships.c.user_id == changes.c.user_id)
                    .where(
                        *in_range,
                        memberships.c.room_id.in_(list(room_ids)),
                        memberships.c.membership == "join",
                    )
                    .distinct()
                )
                changed.update(r.user_id for r in rows)
        return changed

    async def membership_changes(
        self, room_ids: Sequence[str], after: int, upto: int
    ) -> list[tuple[str, str, str]]:
        """(room, user, membership) of the membership events in the rooms in
        (after, upto], oldest first."""
        if not room_ids:
            return []
        async with self.read() as conn:
            rows = await conn.execute(
                select(events.c.room_id, events.c.state_key, events.c.membership)
                .where(
                    events.c.room_id.in_(list(room_ids)),
                    events.c.type == "m.room.member",
                    events.c.stream_ordering > after,
                    events.c.stream_ordering <= upto,
                )
                .order_by(events.c.stream_ordering)
            )
            return [(r.room_id, r.state_key, r.membership or "") for r in rows]

    async def get_max_stream_ordering(self) -> int:
        async with self.read() as conn:
            value = await conn.scalar(select(func.max(device_list_changes.c.stream_ordering)))
        return int(value or 0)
