"""Media metadata: who uploaded what (and which file holds it), mxc URIs
waiting for their content, and the thumbnails made of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from homeserver.storage.base import Store
from homeserver.storage.tables import (
    events,
    media,
    media_thumbnails,
    remote_media,
    remote_media_thumbnails,
    users,
)


@dataclass(frozen=True)
class MediaRecord:
    media_id: str
    uploader: str
    content_type: str | None
    upload_name: str | None
    size: int | None
    sha256: str | None  # None: created, content not uploaded yet
    created_ts: int
    expires_ts: int | None

    @property
    def uploaded(self) -> bool:
        return self.sha256 is not None


@dataclass(frozen=True)
class ThumbnailRecord:
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Content:
    """What an upload stored: the file and what the uploader said of it."""

    sha256: str
    size: int
    content_type: str
    upload_name: str | None


@dataclass(frozen=True)
class RemoteRecord:
    """Media of another server, cached here."""

    content_type: str
    upload_name: str | None
    size: int
    sha256: str


class MediaStore(Store):
    async def get(self, media_id: str) -> MediaRecord | None:
        async with self.read() as conn:
            row = (await conn.execute(select(media).where(media.c.media_id == media_id))).first()
        return None if row is None else MediaRecord(**row._mapping)

    async def usage(self, user_id: str) -> int:
        """Bytes of uploaded content the user holds (each upload counted)."""
        async with self.read() as conn:
            return await self._usage(conn, user_id)

    @staticmethod
    async def _lock_user(conn: AsyncConnection, user_id: str) -> None:
        """Locks the user's row (PostgreSQL) until the transaction ends, so that
        concurrent uploads and creates of one user are checked against the
        limits one after the other. (SQLite writes one at a time anyway.)"""
        await conn.execute(
            select(users.c.user_id).where(users.c.user_id == user_id).with_for_update()
        )

    async def _locked_usage(self, conn: AsyncConnection, user_id: str) -> int:
        await self._lock_user(conn, user_id)
        return await self._usage(conn, user_id)

    @staticmethod
    async def _usage(conn: AsyncConnection, user_id: str) -> int:
        total = await conn.scalar(
            select(func.coalesce(func.sum(media.c.size), 0)).where(media.c.uploader == user_id)
        )
        return int(total or 0)

    async def add_upload(
        self, media_id: str, uploader: str, content: Content, now: int, quota: int
    ) -> bool:
        """Records a finished upload; False (nothing stored) when it would take
        the uploader over `quota` bytes."""
        async with self.write() as conn:
            if await self._locked_usage(conn, uploader) + content.size > quota:
                return False
            await conn.execute(
                insert(media).values(
                    media_id=media_id,
                    uploader=uploader,
                    content_type=content.content_type,
                    upload_name=content.upload_name,
                    size=content.size,
                    sha256=content.sha256,
                    created_ts=now,
                    expires_ts=None,
                )
            )
        return True

    async def create_pending(
        self, media_id: str, uploader: str, now: int, expires_ts: int, limit: int
    ) -> int | None:
        """Reserves a media id for a later upload. None when the user already
        has `limit` unexpired pending ones; then the earliest of their expiries."""
        async with self.write() as conn:
            await self._lock_user(conn, uploader)
            pending = await conn.execute(
                select(media.c.expires_ts)
                .where(
                    media.c.uploader == uploader,
                    media.c.sha256.is_(None),
                    media.c.expires_ts > now,
                )
                .order_by(media.c.expires_ts)
            )
            expiries = [int(r[0]) for r in pending]
            if len(expiries) >= limit:
                return expiries[0]
            await conn.execute(
                insert(media).values(
                    media_id=media_id, uploader=uploader, created_ts=now, expires_ts=expires_ts
                )
            )
        return None

    async def fill_pending(
        self, media_id: str, uploader: str, content: Content, now: int, quota: int
    ) -> str:
        """Puts content into a created media id: "ok", "uploaded" (it has
        content already), "expired" or "quota"."""
        async with self.write() as conn:
            if await self._locked_usage(conn, uploader) + content.size > quota:
                return "quota"
            done = await conn.execute(
                update(media)
                .where(
                    media.c.media_id == media_id,
                    media.c.uploader == uploader,
                    media.c.sha256.is_(None),
                    media.c.expires_ts > now,
                )
                .values(
                    content_type=content.content_type,
                    upload_name=content.upload_name,
                    size=content.size,
                    sha256=content.sha256,
                    expires_ts=None,
                )
            )
            if done.rowcount:
                return "ok"
            has_content = await conn.scalar(
                select(media.c.sha256).where(media.c.media_id == media_id)
            )
        return "uploaded" if has_content is not None else "expired"

    async def file_in_use(self, sha256: str) -> bool:
        async with self.read() as conn:
            return await self._file_in_use(conn, sha256)

    @staticmethod
    async def _file_in_use(conn: AsyncConnection, sha256: str) -> bool:
        in_media = await conn.scalar(select(media.c.media_id).where(media.c.sha256 == sha256))
        if in_media is not None:
            return True
        for table in (media_thumbnails, remote_media, remote_media_thumbnails):
            user = await conn.scalar(select(table.c.media_id).where(table.c.sha256 == sha256))
            if user is not None:
                return True
        return False

    # -- media of other servers ------------------------------------------------

    async def get_remote(self, origin: str, media_id: str) -> RemoteRecord | None:
        r = remote_media
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(r.c.content_type, r.c.upload_name, r.c.size, r.c.sha256).where(
                        r.c.origin == origin, r.c.media_id == media_id
                    )
                )
            ).first()
        return None if row is None else RemoteRecord(row[0], row[1], int(row[2]), row[3])

    async def add_remote(
        self, origin: str, media_id: str, record: RemoteRecord, now: int
    ) -> RemoteRecord:
        """Caches fetched remote media; if another request cached it first,
        that record (the caller's file may then be unused)."""
        try:
            async with self.write() as conn:
                await conn.execute(
                    insert(remote_media).values(
                        origin=origin,
                        media_id=media_id,
                        content_type=record.content_type,
                        upload_name=record.upload_name,
                        size=record.size,
                        sha256=record.sha256,
                        fetched_ts=now,
                    )
                )
        except IntegrityError:
            existing = await self.get_remote(origin, media_id)
            if existing is not None:
                return existing
            raise
        return record

    async def get_remote_thumbnail(
        self, origin: str, media_id: str, width: int, height: int, method: str
    ) -> ThumbnailRecord | None:
        t = remote_media_thumbnails
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(t.c.content_type, t.c.size, t.c.sha256).where(
                        t.c.origin == origin,
                        t.c.media_id == media_id,
                        t.c.width == width,
                        t.c.height == height,
                        t.c.method == method,
                    )
                )
            ).first()
        return None if row is None else ThumbnailRecord(row[0], int(row[1]), row[2])

    async def count_remote_thumbnails(self, origin: str, media_id: str) -> int:
        t = remote_media_thumbnails
        async with self.read() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(t)
                .where(t.c.origin == origin, t.c.media_id == media_id)
            )
        return int(count or 0)

    async def add_remote_thumbnail(
        self,
        origin: str,
        media_id: str,
        width: int,
        height: int,
        method: str,
        thumbnail: ThumbnailRecord,
        now: int,
    ) -> None:
        try:
            async with self.write() as conn:
                await conn.execute(
                    insert(remote_media_thumbnails).values(
                        origin=origin,
                        media_id=media_id,
                        width=width,
                        height=height,
                        method=method,
                        content_type=thumbnail.content_type,
                        size=thumbnail.size,
                        sha256=thumbnail.sha256,
                        fetched_ts=now,
                    )
                )
        except IntegrityError:
            pass  # fetched at the same time by another request

    # -- thumbnails ----------------------------------------------------------

    async def get_thumbnail(
        self, media_id: str, width: int, height: int, method: str
    ) -> ThumbnailRecord | None:
        t = media_thumbnails
        async with self.read() as conn:
            row = (
                await conn.execute(
                    select(t.c.content_type, t.c.size, t.c.sha256).where(
                        t.c.media_id == media_id,
                        t.c.width == width,
                        t.c.height == height,
                        t.c.method == method,
                    )
                )
            ).first()
        return None if row is None else ThumbnailRecord(row[0], int(row[1]), row[2])

    async def count_thumbnails(self, media_id: str) -> int:
        t = media_thumbnails
        async with self.read() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(t).where(t.c.media_id == media_id)
            )
        return int(count or 0)

    async def add_thumbnail(
        self,
        media_id: str,
        width: int,
        height: int,
        method: str,
        thumbnail: ThumbnailRecord,
        now: int,
    ) -> None:
        try:
            async with self.write() as conn:
                await conn.execute(
                    insert(media_thumbnails).values(
                        media_id=media_id,
                        width=width,
                        height=height,
                        method=method,
                        content_type=thumbnail.content_type,
                        size=thumbnail.size,
                        sha256=thumbnail.sha256,
                        created_ts=now,
                    )
                )
        except IntegrityError:
            pass  # made at the same time by another request: the same picture

    # -- purging -------------------------------------------------------------

    async def ids_created_before(self, before_ts: int) -> list[str]:
        async with self.read() as conn:
            rows = await conn.execute(
                select(media.c.media_id).where(media.c.created_ts < before_ts)
            )
            return [r[0] for r in rows]

    async def ids_of_user(self, user_id: str) -> list[str]:
        async with self.read() as conn:
            rows = await conn.execute(select(media.c.media_id).where(media.c.uploader == user_id))
            return [r[0] for r in rows]

    async def ids_of_deactivated_users(self) -> list[str]:
        """Media uploaded by accounts that are deactivated (erased ones too)."""
        async with self.read() as conn:
            rows = await conn.execute(
                select(media.c.media_id)
                .join(users, users.c.user_id == media.c.uploader)
                .where(users.c.deactivated.is_(True))
            )
            return [r[0] for r in rows]

    async def delete_remote_before(self, before_ts: int) -> tuple[int, int, list[str]]:
        """Forgets cached media of other servers fetched before `before_ts`
        (with every thumbnail of them) and remote thumbnails fetched before it:
        how many media and thumbnails, and the SHA-256 of files now unused."""
        r, t = remote_media, remote_media_thumbnails
        async with self.write() as conn:
            old_media = list(
                await conn.execute(
                    select(r.c.origin, r.c.media_id, r.c.sha256).where(r.c.fetched_ts < before_ts)
                )
            )
            hashes = {row[2] for row in old_media}
            thumbnails = 0
            for origin, media_id, _ in old_media:
                of_media = t.c.origin == origin, t.c.media_id == media_id
                hashes |= {
                    row[0] for row in await conn.execute(select(t.c.sha256).where(*of_media))
                }
                thumbnails += (await conn.execute(delete(t).where(*of_media))).rowcount
                await conn.execute(delete(r).where(r.c.origin == origin, r.c.media_id == media_id))
            hashes |= {
                row[0]
                for row in await conn.execute(select(t.c.sha256).where(t.c.fetched_ts < before_ts))
            }
            thumbnails += (await conn.execute(delete(t).where(t.c.fetched_ts < before_ts))).rowcount
            unused = [h for h in sorted(hashes) if not await self._file_in_use(conn, h)]
        return len(old_media), thumbnails, unused

    async def texts_mentioning(self, needle: str, batch: int = 500) -> AsyncIterator[str]:
        """Event JSON and avatar URLs that contain `needle` (a literal, e.g.
        "mxc://server/"), for finding which media are still referred to."""
        last = -1
        pattern = f"%{_escape_like(needle)}%"
        while True:
            async with self.read() as conn:
                rows = list(
                    await conn.execute(
                        select(events.c.stream_ordering, events.c.json)
                        .where(
                            events.c.stream_ordering > last,
                            events.c.json.like(pattern, escape="\\"),
                        )
                        .order_by(events.c.stream_ordering)
                        .limit(batch)
                    )
                )
            for row in rows:
                yield row[1]
            if len(rows) < batch:
                break
            last = int(rows[-1][0])
        async with self.read() as conn:
            avatars = list(
                await conn.execute(
                    select(users.c.avatar_url).where(users.c.avatar_url.like(pattern, escape="\\"))
                )
            )
        for avatar in avatars:
            yield avatar[0]

    async def delete(self, media_ids: Sequence[str]) -> list[str]:
        """Deletes the media and their thumbnails; returns the SHA-256 of the
        files no longer used by anything (for the caller to remove)."""
        if not media_ids:
            return []
        ids = list(media_ids)
        async with self.write() as conn:
            hashes = await self._hashes_of(conn, ids)
            await conn.execute(delete(media_thumbnails).where(media_thumbnails.c.media_id.in_(ids)))
            await conn.execute(delete(media).where(media.c.media_id.in_(ids)))
            unused = [h for h in sorted(hashes) if not await self._file_in_use(conn, h)]
        return unused

    @staticmethod
    async def _hashes_of(conn: AsyncConnection, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        in_media = await conn.execute(
            select(media.c.sha256).where(media.c.media_id.in_(ids), media.c.sha256.is_not(None))
        )
        in_thumbnails = await conn.execute(
            select(media_thumbnails.c.sha256).where(media_thumbnails.c.media_id.in_(ids))
        )
        return {r[0] for r in in_media} | {r[0] for r in in_thumbnails}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
