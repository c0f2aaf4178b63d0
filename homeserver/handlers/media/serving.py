"""How media are served safely: content types, `Content-Disposition` and the
headers that keep an uploaded file from acting as a page of this origin."""

from __future__ import annotations

import re
from urllib.parse import quote

DEFAULT_CONTENT_TYPE = "application/octet-stream"

# The spec's list of types that may be served `inline` ("Serving inline
# content"): rendered by their type only, never as HTML or script.
INLINE_CONTENT_TYPES = frozenset(
    {
        "text/css",
        "text/plain",
        "text/csv",
        "application/json",
        "application/ld+json",
        "image/jpeg",
        "image/gif",
        "image/png",
        "image/apng",
        "image/webp",
        "image/avif",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "video/quicktime",
        "audio/mp4",
        "audio/webm",
        "audio/aac",
        "audio/mpeg",
        "audio/ogg",
        "audio/wave",
        "audio/wav",
        "audio/x-wav",
        "audio/x-pn-wav",
        "audio/flac",
        "audio/x-flac",
    }
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; "
        "style-src 'unsafe-inline'; media-src 'self'; object-src 'self';"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "private, max-age=86400",
}

# type "/" subtype, then parameters: RFC 9110 tokens and quoted strings.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CONTENT_TYPE = re.compile(
    rf"{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=({_TOKEN}|\"[^\"\\\x00-\x1f\x7f]*\"))*"
)
# What may go in a quoted `filename="..."` as it is.
_PLAIN_FILENAME = re.compile(r"[ !#-\[\]-~]+")  # printable ASCII except " and \


def clean_content_type(value: str | None) -> str:
    """The uploader's Content-Type if it is a well-formed media type (it is
    sent back verbatim), else application/octet-stream."""
    if not value:
        return DEFAULT_CONTENT_TYPE
    value = value.strip()
    if len(value) > 255 or not _CONTENT_TYPE.fullmatch(value):
        return DEFAULT_CONTENT_TYPE
    return value


def essence(content_type: str) -> str:
    """`Text/Plain; charset=utf-8` -> `text/plain`."""
    return content_type.split(";", 1)[0].strip().lower()


def is_inline(content_type: str) -> bool:
    return essence(content_type) in INLINE_CONTENT_TYPES


def content_disposition(content_type: str, filename: str | None) -> str:
    """`inline` for the safe types, else `attachment`, with the file name as
    RFC 6266 says: quoted if plain ASCII, else `filename*=utf-8''...`."""
    disposition = "inline" if is_inline(content_type) else "attachment"
    if not filename:
        return disposition
    if _PLAIN_FILENAME.fullmatch(filename):
        return f'{disposition}; filename="{filename}"'
    return f"{disposition}; filename*=utf-8''{quote(filename, safe='')}"
