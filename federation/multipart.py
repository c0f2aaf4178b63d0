"""`multipart/mixed` for federation media (spec: server-server API, "Content
Repository"): written as one stream (a JSON part, then the file), and read
as one, part by part, without holding a whole part in memory."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from email.message import Message

MAX_HEADER_BYTES = 16 * 1024
MAX_READ_AHEAD = 256 * 1024

_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,70}")


class MultipartError(Exception):
    """The body is not a well-formed multipart body."""


def new_boundary() -> str:
    return secrets.token_hex(16)


def boundary_of(content_type: str | None) -> str | None:
    """The boundary of a `multipart/mixed` Content-Type, else None."""
    if not content_type:
        return None
    message = Message()
    message["Content-Type"] = content_type
    if message.get_content_type() != "multipart/mixed":
        return None
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not _BOUNDARY.fullmatch(boundary) or boundary[-1] == " ":
        return None
    return boundary


def part_head(boundary: str, headers: dict[str, str], first: bool = False) -> bytes:
    """The delimiter line and headers that open a part."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    lead = "" if first else "\r\n"
    return f"{lead}--{boundary}\r\n{lines}\r\n".encode("latin-1")


def closing(boundary: str) -> bytes:
    return f"\r\n--{boundary}--\r\n".encode("latin-1")


class MultipartReader:
    """Reads the parts of a multipart body from a stream of chunks:
    `next_part()` gives a part's headers (lower-case names), then
    `body()` its bytes, until `next_part()` answers None (the close)."""

    def __init__(self, chunks: AsyncIterator[bytes], boundary: str) -> None:
        self._chunks = chunks
        # The body is read as if it began with a line break, so that every
        # delimiter, the first included, is CRLF "--" boundary.
        self._buffer = bytearray(b"\r\n")
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        self._started = False
        self._finished = False
        self._in_body = False

    async def _more(self) -> bool:
        try:
            chunk = await anext(self._chunks)
        except StopAsyncIteration:
            return False
        self._buffer += chunk
        return True

    async def _find(self, needle: bytes, limit: int) -> int:
        start = 0
        while True:
            index = self._buffer.find(needle, start)
            if index >= 0:
                return index
            if len(self._buffer) > limit:
                raise MultipartError("no delimiter where one was expected")
            start = max(0, len(self._buffer) - len(needle) + 1)
            if not await self._more():
                raise MultipartError("the body ends before its closing delimiter")

    async def next_part(self) -> dict[str, str] | None:
        if self._finished:
            return None
        if self._in_body:
            async for _ in self.body():  # skip the rest of the current part
                pass
        if not self._started:
            index = await self._find(self._delimiter, MAX_READ_AHEAD)  # skip the preamble
            del self._buffer[:index]
            self._started = True
        # The buffer now starts with the delimiter.
        while len(self._buffer) < len(self._delimiter) + 2:
            if not await self._more():
                raise MultipartError("the body ends inside a delimiter")
        del self._buffer[: len(self._delimiter)]
        if self._buffer.startswith(b"--"):
            self._finished = True
            return None
        end_of_line = await self._find(b"\r\n", MAX_HEADER_BYTES)
        if self._buffer[:end_of_line].strip(b" \t"):
            raise MultipartError("text after a delimiter")
        del self._buffer[: end_of_line + 2]
        if not self._buffer.startswith(b"\r\n"):
            while len(self._buffer) < 2 and await self._more():
                pass
        if self._buffer.startswith(b"\r\n"):
            del self._buffer[:2]
            self._in_body = True
            return {}
        end = await self._find(b"\r\n\r\n", MAX_HEADER_BYTES)
        raw = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 4]
        self._in_body = True
        headers: dict[str, str] = {}
        for line in raw.split("\r\n"):
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise MultipartError("malformed part header")
            headers[name.strip().lower()] = value.strip()
        return headers

    async def body(self) -> AsyncIterator[bytes]:
        """The current part's bytes, as they arrive."""
        if not self._in_body:
            return
        keep = len(self._delimiter) - 1
        while True:
            index = self._buffer.find(self._delimiter)
            if index >= 0:
                if index:
                    yield bytes(self._buffer[:index])
                del self._buffer[:index]
                self._in_body = False
                return
            if len(self._buffer) > keep:
                cut = len(self._buffer) - keep
                yield bytes(self._buffer[:cut])
                del self._buffer[:cut]
            if not await self._more():
                raise MultipartError("the body ends inside a part")

    async def read_body(self, limit: int) -> bytes:
        data = bytearray()
        async for chunk in self.body():
            data += chunk
            if len(data) > limit:
                raise MultipartError("a part is larger than expected")
        return bytes(data)
