"""POST /media/v1/create, then PUT the content: only by its creator, only
once; downloads wait for it (woken by the upload) or give up with 504."""

from __future__ import annotations

import asyncio
from pathlib import Path

from homeserver.config import RateLimit
from homeserver.handlers.media.repository import UNUSED_EXPIRY_MS
from homeserver.util import now_ms
from tests.matrix_client import TestClient, User
from tests.media.helpers import (
    CREATE,
    MEDIA,
    UPLOAD,
    Raw,
    download,
    make_media_config,
    media_client,
    media_path,
    raw,
)


async def create(client: TestClient, user: User) -> str:
    result = await raw(client, "POST", CREATE, user=user)
    assert result.status == 200, result.json
    assert now_ms() < result.json["unused_expires_at"] <= now_ms() + UNUSED_EXPIRY_MS
    content_uri = result.json["content_uri"]
    assert isinstance(content_uri, str) and content_uri.startswith("mxc://localhost/")
    return content_uri


async def put(client: TestClient, user: User, content_uri: str, data: bytes, **query: str) -> Raw:
    return await raw(
        client,
        "PUT",
        f"/_matrix/media/v3/upload/{media_path(content_uri)}",
        user=user,
        data=data,
        content_type="image/png",
        query=query or None,
    )


async def until_waiting(client: TestClient, count: int) -> None:
    signals = client.app.extensions["homeserver"].media.signals
    async with asyncio.timeout(5):
        while signals.waiting_count() < count:  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def test_create_then_upload(client: TestClient) -> None:
    alice = await client.register("alice")
    content_uri = await create(client, alice)
    result = await put(client, alice, content_uri, b"\x89PNG...", filename="a.png")
    assert result.status == 200 and result.json == {}
    got = await download(client, alice, content_uri)
    assert got.data == b"\x89PNG..."
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"] == 'inline; filename="a.png"'


async def test_only_the_creator_uploads_and_only_once(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    content_uri = await create(client, alice)
    (await put(client, bob, content_uri, b"mallory")).error(403, "M_FORBIDDEN")
    assert (await put(client, alice, content_uri, b"first")).status == 200
    (await put(client, alice, content_uri, b"second")).error(409, "M_CANNOT_OVERWRITE_MEDIA")
    assert (await download(client, bob, content_uri)).data == b"first"


async def test_unknown_media_id(client: TestClient) -> None:
    alice = await client.register("alice")
    (await put(client, alice, "mxc://localhost/neverCreated", b"x")).error(404, "M_NOT_FOUND")
    (await put(client, alice, "mxc://elsewhere.example/abc", b"x")).error(404, "M_NOT_FOUND")


async def test_a_direct_upload_cannot_be_overwritten(client: TestClient) -> None:
    alice = await client.register("alice")
    result = await raw(client, "POST", "/_matrix/media/v3/upload", user=alice, data=b"one")
    content_uri = result.json["content_uri"]
    (await put(client, alice, content_uri, b"two")).error(409, "M_CANNOT_OVERWRITE_MEDIA")


async def test_pending_uploads_are_limited(tmp_path: Path, database_url: str) -> None:
    config = make_media_config(tmp_path, database_url, media_max_pending_uploads=2)
    async with media_client(config) as client:
        alice = await client.register("alice")
        first = await create(client, alice)
        await create(client, alice)
        refused = await raw(client, "POST", CREATE, user=alice)
        refused.error(429, "M_LIMIT_EXCEEDED")
        assert refused.json["retry_after_ms"] > 0
        assert (await put(client, alice, first, b"done")).status == 200
        await create(client, alice)  # one fewer pending: room again


async def test_a_download_waits_for_the_upload(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    content_uri = await create(client, alice)
    waiting = asyncio.create_task(download(client, bob, content_uri, timeout_ms=10_000))
    thumbnail = asyncio.create_task(
        raw(
            client,
            "GET",
            f"{MEDIA}/thumbnail/{media_path(content_uri)}",
            user=bob,
            query={"width": 32, "height": 32, "timeout_ms": 10_000},
        )
    )
    await until_waiting(client, 2)
    assert not waiting.done()
    assert (await put(client, alice, content_uri, b"late bytes")).status == 200
    async with asyncio.timeout(5):
        got = await waiting
        thumbnailed = await thumbnail
    assert got.status == 200 and got.data == b"late bytes"
    # It is not really a PNG: then there is no thumbnail.
    thumbnailed.error(400, "M_UNKNOWN")
    assert client.app.extensions["homeserver"].media.signals.waiting_count() == 0


async def test_a_download_gives_up_with_504(client: TestClient) -> None:
    alice = await client.register("alice")
    content_uri = await create(client, alice)
    (await download(client, alice, content_uri, timeout_ms=0)).error(504, "M_NOT_YET_UPLOADED")
    waiting = asyncio.create_task(download(client, alice, content_uri, timeout_ms=50))
    async with asyncio.timeout(5):
        (await waiting).error(504, "M_NOT_YET_UPLOADED")


async def test_uploads_and_creates_are_rate_limited(tmp_path: Path, database_url: str) -> None:
    config = make_media_config(
        tmp_path,
        database_url,
        rate_limits_enabled=True,
        rate_limit_media=RateLimit(0.001, 2),
    )
    async with media_client(config) as client:
        alice = await client.register("alice")
        bob = await client.register("bob")
        await create(client, alice)
        assert (await raw(client, "POST", UPLOAD, user=alice, data=b"x")).status == 200
        refused = await raw(client, "POST", UPLOAD, user=alice, data=b"y")
        refused.error(429, "M_LIMIT_EXCEEDED")
        assert int(refused.headers["Retry-After"]) >= 1
        (await raw(client, "POST", CREATE, user=alice)).error(429, "M_LIMIT_EXCEEDED")
        await create(client, bob)  # per user
