"""The senders' light HTTP client reads what servers send: Content-Length and
chunked bodies, several requests on one connection, and a closed connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.bench.rawhttp import RawConnection

RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
    b'{"event_id":"$a"}',
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'5\r\n{"eve\r\nc\r\nnt_id":"$b"}\r\n0\r\n\r\n',
    b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
]


@pytest.fixture
async def server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """Answers each request on a connection with the next canned response."""
    received: list[bytes] = []
    answers = iter(RESPONSES * 2)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            received.append(head + await reader.readexactly(length))
            answer = next(answers)
            writer.write(answer)
            await writer.drain()
            if b"Connection: close" in answer:
                break
        writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    yield port, received
    listener.close()


async def test_bodies_of_both_framings_and_reconnection(server: tuple[int, list[bytes]]) -> None:
    port, received = server
    conn = RawConnection.for_url(f"http://127.0.0.1:{port}")
    assert await conn.request("PUT", "/a", "tok", b'{"x":1}') == (200, b'{"event_id":"$a"}')
    assert await conn.request("PUT", "/b", "tok", b"{}") == (200, b'{"event_id":"$b"}')
    assert await conn.request("GET", "/c", "tok") == (429, b"{}")
    # The server closed that connection: the next request opens another.
    assert await conn.request("PUT", "/d", "tok", b"{}") == (200, b'{"event_id":"$a"}')
    conn.close()
    assert received[0].startswith(b"PUT /a HTTP/1.1\r\n")
    assert b"Authorization: Bearer tok\r\n" in received[0]
    assert received[0].endswith(b'\r\n\r\n{"x":1}')
