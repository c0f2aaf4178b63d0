"""Uploads to the real server process (Hypercorn in front): large files
stream through, and an oversized one is cut off near the limit."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket

import httpx
import pytest

from tests.e2e.conftest import StartServer
from tests.e2e.helpers import register

pytestmark = pytest.mark.e2e

LIMIT = 4 * 1024 * 1024
CHUNK = 64 * 1024
OFFERED = 64 * 1024 * 1024


async def test_uploads_through_hypercorn(start_server: StartServer) -> None:
    server = start_server(env={"MAX_UPLOAD_SIZE": str(LIMIT)})
    async with asyncio.timeout(60), httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        alice = await register(http, "alice")
        data = bytes(range(256)) * (LIMIT // 256)  # exactly the limit: 4 MiB
        uploaded = await http.post(
            "/_matrix/media/v3/upload",
            content=data,
            headers={**alice.headers, "Content-Type": "application/octet-stream"},
        )
        assert uploaded.status_code == 200, uploaded.text
        where = uploaded.json()["content_uri"].removeprefix("mxc://")
        got = await http.get(f"/_matrix/client/v1/media/download/{where}", headers=alice.headers)
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-length"] == str(LIMIT)

        sent, answer = await asyncio.to_thread(oversized_upload, server.port, alice.access_token)
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert b"M_TOO_LARGE" in answer
        # It stopped reading near the limit (plus socket and read buffers).
        assert sent < OFFERED // 4, sent

        # Answered before reading anything (a bad token): the same.
        sent, answer = await asyncio.to_thread(oversized_upload, server.port, "not-a-token")
        assert answer.startswith(b"HTTP/1.1 401"), answer
        assert sent < OFFERED // 4, sent


def oversized_upload(port: int, token: str) -> tuple[int, bytes]:
    """Sends a chunked 64 MiB upload, watching for an answer between chunks
    (as curl and browsers do), stops sending when it comes, and reads it to
    the end: the server lets go of the connection (a full queue between
    Hypercorn and the app once kept it, and its tasks, forever)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            (
                "POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: localhost\r\n"
                f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        sent = 0
        chunk = b"%x\r\n" % CHUNK + b"y" * CHUNK + b"\r\n"
        while sent < OFFERED:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                break
            if writable:
                sock.sendall(chunk)
                sent += CHUNK
        # Done sending, as curl is after an early answer (unless the server
        # has closed already: its answer is buffered).
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        # A reset (closed with our unread chunks in its buffer) ends the answer.
        with contextlib.suppress(ConnectionResetError):
            while data := sock.recv(65536):  # b"" once the server has closed
                answer += data
        return sent, answer
