"""Media files on disk, named by their SHA-256 (`media/ab/cd/abcd...`):
identical content is stored once. Uploads are written to a temporary file
while they arrive and moved into place only when complete."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from homeserver.errors import MatrixError

WRITE_BATCH_BYTES = 256 * 1024
READ_CHUNK_BYTES = 256 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


def too_large(limit: int) -> MatrixError:
    return MatrixError(413, "M_TOO_LARGE", f"Cannot upload files larger than {limit} bytes")


@dataclass(frozen=True)
class ReceivedFile:
    """A complete upload in the temporary folder, not yet in the store."""

    path: Path
    sha256: str
    size: int


def media_root(data_dir: Path) -> Path:
    return data_dir / "media"


class MediaFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "incoming"

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def receive(self, chunks: AsyncIterable[bytes], limit: int) -> ReceivedFile:
        """Writes the chunks to a temporary file, hashing them, and stops
        reading (M_TOO_LARGE) as soon as more than `limit` bytes came. On any
        failure (or cancellation: the client went away) nothing is left."""
        await asyncio.to_thread(self.incoming.mkdir, parents=True, exist_ok=True)
        path = self.incoming / secrets.token_hex(16)
        file = await asyncio.to_thread(path.open, "xb")
        digest = hashlib.sha256()
        size = 0
        pending = bytearray()
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                pending += chunk
                if len(pending) >= WRITE_BATCH_BYTES:
                    await asyncio.to_thread(_write, file, digest, bytes(pending))
                    pending.clear()
            await asyncio.to_thread(_write, file, digest, bytes(pending))
            await asyncio.to_thread(_finish, file)
        except BaseException:
            await _discard(file, path)
            raise
        return ReceivedFile(path, digest.hexdigest(), size)

    async def store(self, received: ReceivedFile) -> None:
        """Moves a received file into the store (or drops it if the same
        content is there already)."""
        await asyncio.to_thread(self._store, received)

    def _store(self, received: ReceivedFile) -> None:
        target = self.path_for(received.sha256)
        if target.exists():
            received.path.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(received.path, target)

    async def store_bytes(self, data: bytes) -> str:
        """Stores small content made here (thumbnails); returns its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._store_bytes, sha256, data)
        return sha256

    def _store_bytes(self, sha256: str, data: bytes) -> None:
        target = self.path_for(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        self.incoming.mkdir(parents=True, exist_ok=True)
        temporary = self.incoming / secrets.token_hex(16)
        temporary.write_bytes(data)
        os.replace(temporary, target)

    async def remove(self, sha256: str) -> None:
        await asyncio.to_thread(self.path_for(sha256).unlink, missing_ok=True)

    async def chunks(self, sha256: str) -> AsyncIterator[bytes]:
        """The file's content, read off the event loop piece by piece."""
        file = await asyncio.to_thread(self.path_for(sha256).open, "rb")
        try:
            while chunk := await asyncio.to_thread(file.read, READ_CHUNK_BYTES):
                yield chunk
        finally:
            await asyncio.to_thread(file.close)


def _write(file: BinaryIO, digest: hashlib._Hash, data: bytes) -> None:
    if data:
        digest.update(data)
        file.write(data)


def _finish(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()


async def _discard(file: BinaryIO, path: Path) -> None:
    def discard() -> None:
        with contextlib.suppress(OSError):
            file.close()
        path.unlink(missing_ok=True)

    # Shielded: a cancelled upload still removes its temporary file.
    await asyncio.shield(asyncio.to_thread(discard))
