"""Media of other servers: what the repository needs from federation (the
`RemoteMediaSource` seam, filled in by the federation package when it is
enabled) and how answers from another server are made safe to keep."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

from homeserver.errors import MatrixError

# Thumbnail types we pass on from another server (served inline).
REMOTE_THUMBNAIL_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
MAX_REMOTE_THUMBNAIL_BYTES = 4 * 1024 * 1024

_FILENAME_STAR = re.compile(r"filename\*\s*=\s*(?i:utf-8)''([^;\s]+)")
_FILENAME = re.compile(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))')


@dataclass(frozen=True)
class RemoteContent:
    """One answer of another server: the media's type and name as it says,
    its length if it said, and the bytes as they arrive."""

    content_type: str | None
    disposition: str | None
    length: int | None
    chunks: AsyncIterator[bytes]


class RemoteMediaSource(Protocol):
    """Fetches media from their origin server. Failures are MatrixErrors:
    404 M_NOT_FOUND when the origin has no such media, 504 when it does not
    answer in time (M_NOT_YET_UPLOADED if it says so), 502 otherwise."""

    def download(
        self, origin: str, media_id: str, timeout_ms: int
    ) -> AbstractAsyncContextManager[RemoteContent]: ...

    def thumbnail(
        self, origin: str, media_id: str, width: int, height: int, method: str, timeout_ms: int
    ) -> AbstractAsyncContextManager[RemoteContent]: ...


def remote_too_large(what: str = "serve") -> MatrixError:
    return MatrixError(502, "M_TOO_LARGE", f"Remote content is too large to {what}")


def filename_of(disposition: str | None) -> str | None:
    """The file name in a Content-Disposition header (RFC 6266: the
    `filename*` form first), or None; names with control characters, path
    separators or over 255 characters are dropped."""
    if not disposition:
        return None
    name: str | None = None
    star = _FILENAME_STAR.search(disposition)
    if star is not None:
        name = unquote(star.group(1), errors="strict") if _decodes(star.group(1)) else None
    if name is None:
        plain = _FILENAME.search(disposition)
        if plain is not None:
            quoted, bare = plain.group(1), plain.group(2)
            name = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
    if not name or len(name) > 255 or "/" in name or "\\" in name:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return None
    return name


def _decodes(encoded: str) -> bool:
    try:
        unquote(encoded, errors="strict")
    except UnicodeDecodeError:
        return False
    return True
