"""Uploads through the real ASGI path (Quart's connection handling, not the
test client, which hands over whole bodies): the server reads no more than
it may store, and a broken-off upload leaves nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from quart import Quart
from sqlalchemy import func, select

from homeserver.api.upload_stream import BUFFER_BYTES
from homeserver.app import create_app
from homeserver.storage.tables import media
from tests.matrix_client import TestClient, User
from tests.media.helpers import UPLOAD, download, make_media_config

CHUNK = 16 * 1024


@dataclass
class Client:
    """Plays the ASGI server and its client: offers the body in chunks and
    counts how many bytes the application asked for."""

    chunks: int
    disconnect_after: int | None = None
    consumed: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    _given: int = 0

    async def receive(self) -> dict[str, Any]:
        if self.answered():  # it stops sending and goes away, as curl does
            return {"type": "http.disconnect"}
        if self.disconnect_after is not None and self._given >= self.disconnect_after:
            return {"type": "http.disconnect"}
        if self._given >= self.chunks:
            await asyncio.Event().wait()  # the client waits for the response
        self._given += 1
        self.consumed += CHUNK
        more = self._given < self.chunks
        return {"type": "http.request", "body": b"z" * CHUNK, "more_body": more}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def answered(self) -> bool:
        last = self.sent[-1] if self.sent else {}
        return last.get("type") == "http.response.body" and not last.get("more_body", False)

    def status(self) -> int:
        return int(self.sent[0]["status"])

    def json(self) -> Any:
        return orjson.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))


async def post_upload(app: Quart, user: User, client: Client, headers: list[Any]) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": UPLOAD,
        "raw_path": UPLOAD.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {user.access_token}".encode()),
            (b"content-type", b"application/octet-stream"),
            *headers,
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8008),
        "extensions": {},
    }
    async with asyncio.timeout(10):
        await app(scope, client.receive, client.send)  # type: ignore[arg-type]


@dataclass
class Server:
    app: Quart
    client: TestClient
    data_dir: Path


async def server(tmp_path: Path, database_url: str, **settings: Any) -> AsyncIterator[Server]:
    config = make_media_config(tmp_path, database_url, **settings)
    app = create_app(config)
    async with app.test_app() as test_app:
        yield Server(app, TestClient(test_app.test_client(), test_app.app), config.data_dir)


async def rows(app: Quart) -> int:
    engine = app.extensions["homeserver"].storage.engine
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(media)) or 0)


def files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "media").rglob("*") if p.is_file()]


async def test_reading_stops_at_the_limit(tmp_path: Path, database_url: str) -> None:
    limit = 64 * 1024
    async for s in server(tmp_path, database_url, max_upload_size=limit):
        alice = await s.client.register("alice")
        offered = Client(chunks=4096)  # 64 MiB, without a Content-Length
        await post_upload(s.app, alice, offered, [])
        assert offered.status() == 413
        assert offered.json()["errcode"] == "M_TOO_LARGE"
        assert offered.consumed <= limit + BUFFER_BYTES + CHUNK
        assert offered.consumed < offered.chunks * CHUNK // 16
        assert await rows(s.app) == 0
        assert files(s.data_dir) == []


async def test_a_declared_length_over_the_limit_is_not_read(
    tmp_path: Path, database_url: str
) -> None:
    async for s in server(tmp_path, database_url, max_upload_size=64 * 1024):
        alice = await s.client.register("alice")
        offered = Client(chunks=4096)
        await post_upload(s.app, alice, offered, [(b"content-length", b"67108864")])
        assert offered.status() == 413
        assert offered.json()["errcode"] == "M_TOO_LARGE"
        assert offered.consumed == 0


async def test_a_large_upload_is_streamed(tmp_path: Path, database_url: str) -> None:
    size = 8 * 1024 * 1024  # far over the 1 MiB body limit of the JSON endpoints
    async for s in server(tmp_path, database_url):
        alice = await s.client.register("alice")
        offered = Client(chunks=size // CHUNK)
        length = str(size).encode()
        await post_upload(s.app, alice, offered, [(b"content-length", length)])
        assert offered.status() == 200, offered.json()
        content_uri = offered.json()["content_uri"]
        got = await download(s.client, alice, content_uri)
        assert got.status == 200 and got.data == b"z" * size


async def test_a_broken_off_upload_stores_nothing(tmp_path: Path, database_url: str) -> None:
    async for s in server(tmp_path, database_url):
        alice = await s.client.register("alice")
        offered = Client(chunks=100, disconnect_after=20)
        await post_upload(s.app, alice, offered, [(b"content-length", str(100 * CHUNK).encode())])
        assert offered.sent == []  # no response: the client is gone
        assert await rows(s.app) == 0
        assert files(s.data_dir) == []
