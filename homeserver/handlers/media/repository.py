"""The media repository: uploads (direct, or to an mxc URI created earlier),
downloads and thumbnails of this server's media."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from homeserver.config import Config
from homeserver.errors import MatrixError, forbidden, limit_exceeded, not_found
from homeserver.handlers.media.files import MediaFiles, ReceivedFile, media_root
from homeserver.handlers.media.remote import (
    MAX_REMOTE_THUMBNAIL_BYTES,
    REMOTE_THUMBNAIL_TYPES,
    RemoteContent,
    RemoteMediaSource,
    filename_of,
    remote_too_large,
)
from homeserver.handlers.media.serving import DEFAULT_CONTENT_TYPE, clean_content_type, essence
from homeserver.handlers.media.thumbnails import (
    THUMBNAIL_SOURCES,
    ImageTooLarge,
    NotAnImage,
    make_thumbnail,
)
from homeserver.handlers.media.waiting import UploadSignals
from homeserver.storage.media import (
    Content,
    MediaRecord,
    MediaStore,
    RemoteRecord,
    ThumbnailRecord,
)
from homeserver.util import now_ms, random_string

MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MEDIA_ID_LENGTH = 24
MAX_FILENAME_LENGTH = 255
# The spec's recommendation for created mxc URIs nobody uploaded to.
UNUSED_EXPIRY_MS = 24 * 3600 * 1000
DEFAULT_WAIT_MS = 20_000
MAX_WAIT_MS = 60_000
# Beyond this many sizes of one media, thumbnails are made but not kept.
MAX_CACHED_THUMBNAILS = 16
THUMBNAIL_METHODS = ("crop", "scale")


@dataclass(frozen=True)
class MediaBody:
    """Something to send: a stored file (`sha256`) or bytes made just now."""

    content_type: str
    size: int
    filename: str | None
    sha256: str | None = None
    data: bytes | None = None


def quota_exceeded() -> MatrixError:
    return forbidden("Media quota exceeded: delete some uploads first")


def not_yet_uploaded() -> MatrixError:
    return MatrixError(504, "M_NOT_YET_UPLOADED", "Content has not yet been uploaded")


def cannot_thumbnail() -> MatrixError:
    return MatrixError(400, "M_UNKNOWN", "Cannot generate thumbnails for the requested content")


class MediaRepository:
    def __init__(self, config: Config, store: MediaStore) -> None:
        self.server_name = config.server_name
        self.max_upload_size = config.max_upload_size
        self.quota = config.media_quota_bytes_per_user
        self.max_pending = config.media_max_pending_uploads
        self.store = store
        self.files = MediaFiles(media_root(config.data_dir))
        self.signals = UploadSignals()
        self._thumbnail_locks: dict[tuple[str, int, int, str], asyncio.Lock] = {}
        # Set by the federation package while federation runs.
        self.remote: RemoteMediaSource | None = None
        self._remote_locks: dict[tuple[str, ...], asyncio.Lock] = {}

    def mxc(self, media_id: str) -> str:
        return f"mxc://{self.server_name}/{media_id}"

    # -- uploading -----------------------------------------------------------

    async def upload(
        self,
        user_id: str,
        chunks: AsyncIterable[bytes],
        content_type: str | None,
        filename: str | None,
        declared_size: int | None,
    ) -> str:
        """POST /upload: stores the content; returns its mxc URI."""
        name = _check_filename(filename)
        await self._check_quota(user_id, declared_size)
        received = await self.files.receive(chunks, self.max_upload_size)
        content = Content(received.sha256, received.size, clean_content_type(content_type), name)
        await self.files.store(received)
        media_id = random_string(MEDIA_ID_LENGTH)
        if not await self.store.add_upload(media_id, user_id, content, now_ms(), self.quota):
            await self._remove_if_unused(content.sha256)
            raise quota_exceeded()
        return self.mxc(media_id)

    async def create(self, user_id: str) -> tuple[str, int]:
        """POST /create: an mxc URI to upload to later, and when it expires."""
        now = now_ms()
        expires = now + UNUSED_EXPIRY_MS
        media_id = random_string(MEDIA_ID_LENGTH)
        earliest = await self.store.create_pending(
            media_id, user_id, now, expires, self.max_pending
        )
        if earliest is not None:
            raise limit_exceeded(max(1, earliest - now))
        return self.mxc(media_id), expires

    async def upload_to(
        self,
        user_id: str,
        server_name: str,
        media_id: str,
        chunks: AsyncIterable[bytes],
        content_type: str | None,
        filename: str | None,
        declared_size: int | None,
    ) -> None:
        """PUT /upload/{serverName}/{mediaId}: the content of a created URI,
        by its creator, once."""
        record = await self._local_record(server_name, media_id)
        if record.uploader != user_id:
            raise forbidden("Only the user who created this media ID may upload to it")
        if record.uploaded:
            raise _cannot_overwrite()
        if record.expires_ts is not None and record.expires_ts <= now_ms():
            raise not_found("This media ID has expired")
        name = _check_filename(filename)
        await self._check_quota(user_id, declared_size)
        received = await self.files.receive(chunks, self.max_upload_size)
        content = Content(received.sha256, received.size, clean_content_type(content_type), name)
        await self.files.store(received)
        outcome = await self.store.fill_pending(media_id, user_id, content, now_ms(), self.quota)
        if outcome == "ok":
            self.signals.uploaded(media_id)
            return
        await self._remove_if_unused(content.sha256)
        if outcome == "uploaded":
            raise _cannot_overwrite()
        if outcome == "quota":
            raise quota_exceeded()
        raise not_found("This media ID has expired")

    async def _check_quota(self, user_id: str, declared_size: int | None) -> None:
        usage = await self.store.usage(user_id)
        if usage >= self.quota or usage + (declared_size or 0) > self.quota:
            raise quota_exceeded()

    async def _remove_if_unused(self, sha256: str) -> None:
        if not await self.store.file_in_use(sha256):
            await self.files.remove(sha256)

    # -- downloading ---------------------------------------------------------

    async def download(self, server_name: str, media_id: str, timeout_ms: int) -> MediaBody:
        if server_name != self.server_name:
            return await self._remote_download(server_name, media_id, timeout_ms)
        record = await self._uploaded(server_name, media_id, timeout_ms)
        assert record.sha256 is not None and record.size is not None
        return MediaBody(
            record.content_type or DEFAULT_CONTENT_TYPE,
            record.size,
            record.upload_name,
            sha256=record.sha256,
        )

    def chunks(self, body: MediaBody) -> AsyncIterator[bytes]:
        assert body.sha256 is not None
        return self.files.chunks(body.sha256)

    async def _local_record(self, server_name: str, media_id: str) -> MediaRecord:
        if server_name != self.server_name:
            raise not_found("Remote media is not available on this server")
        if not MEDIA_ID.fullmatch(media_id):
            raise not_found("No such media")
        record = await self.store.get(media_id)
        if record is None:
            raise not_found("No such media")
        return record

    async def _uploaded(self, server_name: str, media_id: str, timeout_ms: int) -> MediaRecord:
        """The media's record once it has content, waiting up to `timeout_ms`
        for the upload of a created mxc URI (then M_NOT_YET_UPLOADED)."""
        record = await self._local_record(server_name, media_id)
        if record.uploaded:
            return record
        async with self.signals.waiting(media_id) as arrived:
            current = await self.store.get(media_id)
            if current is not None and not current.uploaded:
                if current.expires_ts is not None and current.expires_ts <= now_ms():
                    raise not_found("No such media")
                wait_ms = min(max(timeout_ms, 0), MAX_WAIT_MS)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait_ms / 1000):
                        await arrived.wait()
                current = await self.store.get(media_id)
        if current is None:
            raise not_found("No such media")
        if not current.uploaded:
            raise not_yet_uploaded()
        return current

    # -- thumbnails ----------------------------------------------------------

    async def thumbnail(
        self,
        server_name: str,
        media_id: str,
        width: int,
        height: int,
        method: str,
        timeout_ms: int,
    ) -> MediaBody:
        if server_name != self.server_name:
            return await self._remote_thumbnail(
                server_name, media_id, width, height, method, timeout_ms
            )
        record = await self._uploaded(server_name, media_id, timeout_ms)
        assert record.sha256 is not None and record.size is not None
        source_type = essence(record.content_type or DEFAULT_CONTENT_TYPE)
        if source_type not in THUMBNAIL_SOURCES:
            raise cannot_thumbnail()
        key = (media_id, width, height, method)
        cached = await self.store.get_thumbnail(*key)
        if cached is not None:
            return _thumbnail_body(cached)
        lock = self._thumbnail_locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._make_thumbnail(record, source_type, key)
        finally:
            if not lock.locked():
                self._thumbnail_locks.pop(key, None)

    async def _make_thumbnail(
        self, record: MediaRecord, source_type: str, key: tuple[str, int, int, str]
    ) -> MediaBody:
        assert record.sha256 is not None and record.size is not None
        cached = await self.store.get_thumbnail(*key)
        if cached is not None:
            return _thumbnail_body(cached)
        media_id, width, height, method = key
        try:
            made = await asyncio.to_thread(
                make_thumbnail,
                self.files.path_for(record.sha256),
                source_type,
                width,
                height,
                method,
            )
        except NotAnImage as exc:
            raise cannot_thumbnail() from exc
        except ImageTooLarge as exc:
            raise MatrixError(413, "M_TOO_LARGE", "Content is too large to thumbnail") from exc
        if made is None:  # not larger than asked for: the original itself
            return MediaBody(
                source_type, record.size, _thumbnail_name(source_type), sha256=record.sha256
            )
        if await self.store.count_thumbnails(media_id) >= MAX_CACHED_THUMBNAILS:
            return MediaBody(
                made.content_type,
                len(made.data),
                _thumbnail_name(made.content_type),
                data=made.data,
            )
        sha256 = await self.files.store_bytes(made.data)
        thumbnail = ThumbnailRecord(made.content_type, len(made.data), sha256)
        await self.store.add_thumbnail(media_id, width, height, method, thumbnail, now_ms())
        return _thumbnail_body(thumbnail)

    # -- media of other servers ---------------------------------------------

    def _remote_source(self, media_id: str) -> RemoteMediaSource:
        if self.remote is None:
            raise not_found("Remote media is not available on this server")
        if not MEDIA_ID.fullmatch(media_id):
            raise not_found("No such media")
        return self.remote

    async def _once(
        self, key: tuple[str, ...], make: Callable[[], Awaitable[MediaBody]]
    ) -> MediaBody:
        """Runs `make` for one key at a time: concurrent requests for the same
        remote media fetch it once (the others then find it cached)."""
        lock = self._remote_locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await make()
        finally:
            if not lock.locked():
                self._remote_locks.pop(key, None)

    async def _remote_download(self, origin: str, media_id: str, timeout_ms: int) -> MediaBody:
        """Media of `origin` from the cache, else fetched over federation
        (streamed to disk, at most max_upload_size bytes) and cached."""
        source = self._remote_source(media_id)
        cached = await self.store.get_remote(origin, media_id)
        if cached is None:

            async def fetch() -> MediaBody:
                record = await self.store.get_remote(origin, media_id)
                if record is None:
                    record = await self._fetch_remote(source, origin, media_id, timeout_ms)
                return _remote_body(record)

            return await self._once(("download", origin, media_id), fetch)
        return _remote_body(cached)

    async def _fetch_remote(
        self, source: RemoteMediaSource, origin: str, media_id: str, timeout_ms: int
    ) -> RemoteRecord:
        async with source.download(origin, media_id, timeout_ms) as content:
            received = await self._receive_remote(content, self.max_upload_size, "serve")
            content_type = clean_content_type(content.content_type)
            filename = filename_of(content.disposition)
        await self.files.store(received)
        record = RemoteRecord(content_type, filename, received.size, received.sha256)
        stored = await self.store.add_remote(origin, media_id, record, now_ms())
        if stored.sha256 != record.sha256:
            await self._remove_if_unused(record.sha256)
        return stored

    async def _receive_remote(self, content: RemoteContent, limit: int, what: str) -> ReceivedFile:
        if content.length is not None and content.length > limit:
            raise remote_too_large(what)
        try:
            received = await self.files.receive(content.chunks, limit)
        except MatrixError as exc:
            if exc.errcode == "M_TOO_LARGE":
                raise remote_too_large(what) from exc
            raise
        if content.length is not None and received.size != content.length:
            await asyncio.to_thread(received.path.unlink, missing_ok=True)
            raise MatrixError(
                502,
                "M_UNKNOWN",
                f"The remote server sent {received.size} of {content.length} bytes",
            )
        return received

    async def _remote_thumbnail(
        self, origin: str, media_id: str, width: int, height: int, method: str, timeout_ms: int
    ) -> MediaBody:
        """The origin server's thumbnail, cached per size and method."""
        source = self._remote_source(media_id)
        key = (origin, media_id, width, height, method)
        cached = await self.store.get_remote_thumbnail(*key)
        if cached is not None:
            return _thumbnail_body(cached)

        async def fetch() -> MediaBody:
            again = await self.store.get_remote_thumbnail(*key)
            if again is not None:
                return _thumbnail_body(again)
            return await self._fetch_remote_thumbnail(source, key, timeout_ms)

        return await self._once(
            ("thumbnail", origin, media_id, str(width), str(height), method), fetch
        )

    async def _fetch_remote_thumbnail(
        self,
        source: RemoteMediaSource,
        key: tuple[str, str, int, int, str],
        timeout_ms: int,
    ) -> MediaBody:
        origin, media_id, width, height, method = key
        limit = min(self.max_upload_size, MAX_REMOTE_THUMBNAIL_BYTES)
        async with source.thumbnail(origin, media_id, width, height, method, timeout_ms) as content:
            content_type = essence(content.content_type or "")
            if content_type not in REMOTE_THUMBNAIL_TYPES:
                raise MatrixError(
                    502, "M_UNKNOWN", f"{origin} answered with a thumbnail that is not an image"
                )
            received = await self._receive_remote(content, limit, "thumbnail")
        if await self.store.count_remote_thumbnails(origin, media_id) >= MAX_CACHED_THUMBNAILS:
            data = await asyncio.to_thread(received.path.read_bytes)
            await asyncio.to_thread(received.path.unlink, missing_ok=True)
            return MediaBody(content_type, len(data), _thumbnail_name(content_type), data=data)
        await self.files.store(received)
        thumbnail = ThumbnailRecord(content_type, received.size, received.sha256)
        await self.store.add_remote_thumbnail(*key, thumbnail, now_ms())
        return _thumbnail_body(thumbnail)


def _remote_body(record: RemoteRecord) -> MediaBody:
    return MediaBody(record.content_type, record.size, record.upload_name, sha256=record.sha256)


def _thumbnail_body(thumbnail: ThumbnailRecord) -> MediaBody:
    return MediaBody(
        thumbnail.content_type,
        thumbnail.size,
        _thumbnail_name(thumbnail.content_type),
        sha256=thumbnail.sha256,
    )


def _thumbnail_name(content_type: str) -> str:
    return f"thumbnail.{content_type.split('/', 1)[1]}"


def _cannot_overwrite() -> MatrixError:
    return MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA", "Media already uploaded")


def _check_filename(filename: str | None) -> str | None:
    if filename is None or filename == "":
        return None
    if len(filename) > MAX_FILENAME_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in filename):
        raise MatrixError(
            400, "M_INVALID_PARAM", "filename must be at most 255 characters, without controls"
        )
    return filename
