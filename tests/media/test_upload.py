"""Uploads and authenticated downloads: the round trip, files stored once by
their SHA-256, the size limit, quotas and media ids."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from sqlalchemy import func, select

from homeserver.config import Config
from homeserver.storage.tables import media
from tests.matrix_client import TestClient
from tests.media.helpers import (
    MEDIA,
    UPLOAD,
    download,
    make_media_config,
    media_client,
    media_path,
    raw,
    upload,
    upload_ok,
)


def stored_file(config: Config, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    return config.data_dir / "media" / digest[:2] / digest[2:4] / digest


def files_under(config: Config) -> list[Path]:
    root = config.data_dir / "media"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def media_rows(client: TestClient) -> int:
    engine = client.app.extensions["homeserver"].storage.engine
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(media)) or 0)


async def test_round_trip(client: TestClient, config: Config) -> None:
    alice = await client.register("alice")
    data = b"hello media\n" * 1000
    content_uri = await upload_ok(
        client, alice, data, content_type="text/plain", filename="notes.txt"
    )
    assert content_uri.startswith("mxc://localhost/")
    got = await download(client, alice, content_uri)
    assert got.status == 200
    assert got.data == data
    assert got.headers["Content-Type"] == "text/plain"
    assert got.headers["Content-Length"] == str(len(data))
    assert got.headers["Content-Disposition"] == 'inline; filename="notes.txt"'
    assert stored_file(config, data).read_bytes() == data


async def test_any_user_downloads_but_only_with_a_token(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    content_uri = await upload_ok(client, alice, b"\x00\x01binary")
    assert (await download(client, bob, content_uri)).data == b"\x00\x01binary"
    (await download(client, None, content_uri)).error(401, "M_MISSING_TOKEN")


async def test_download_with_a_file_name(client: TestClient) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(client, alice, b"%PDF-1.4", content_type="application/pdf")
    got = await raw(
        client,
        "GET",
        f"{MEDIA}/download/{media_path(content_uri)}/r%C3%A9sum%C3%A9.pdf",
        user=alice,
    )
    assert got.status == 200
    assert got.headers["Content-Disposition"] == "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf"


async def test_identical_uploads_are_stored_once(client: TestClient, config: Config) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    data = b"the same bytes" * 100
    first = await upload_ok(client, alice, data, filename="a.bin")
    second = await upload_ok(client, bob, data, filename="b.bin")
    assert first != second
    assert files_under(config) == [stored_file(config, data)]
    assert (await download(client, bob, first)).data == data
    assert (await download(client, alice, second)).data == data


async def test_no_content_type_is_octet_stream(client: TestClient) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(client, alice, b"abc", content_type=None)
    got = await download(client, alice, content_uri)
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Content-Disposition"] == "attachment"


async def test_bigger_than_the_request_body_limit(tmp_path: Path, database_url: str) -> None:
    config = make_media_config(tmp_path, database_url, max_request_body_bytes=1024)
    async with media_client(config) as client:
        alice = await client.register("alice")
        data = bytes(range(256)) * 40  # 10 KiB: over the 1 KiB JSON body limit
        content_uri = await upload_ok(client, alice, data)
        assert (await download(client, alice, content_uri)).data == data


async def test_over_the_upload_limit(tmp_path: Path, database_url: str) -> None:
    config = make_media_config(tmp_path, database_url, max_upload_size=1000)
    async with media_client(config) as client:
        alice = await client.register("alice")
        (await upload(client, alice, b"x" * 1001)).error(413, "M_TOO_LARGE")
        assert await media_rows(client) == 0
        assert files_under(config) == []
        assert (await upload(client, alice, b"x" * 1000)).status == 200
        config_response = await raw(client, "GET", f"{MEDIA}/config", user=alice)
        assert config_response.json == {"m.upload.size": 1000}


async def test_quota(tmp_path: Path, database_url: str) -> None:
    config = make_media_config(tmp_path, database_url, media_quota_bytes_per_user=100)
    async with media_client(config) as client:
        alice = await client.register("alice")
        bob = await client.register("bob")
        await upload_ok(client, alice, b"a" * 60)
        (await upload(client, alice, b"b" * 41)).error(403, "M_FORBIDDEN")
        await upload_ok(client, alice, b"c" * 40)
        (await upload(client, alice, b"d")).error(403, "M_FORBIDDEN")
        await upload_ok(client, bob, b"e" * 100)
        assert await media_rows(client) == 3
        assert len(files_under(config)) == 3


async def test_concurrent_uploads_respect_the_quota(tmp_path: Path, database_url: str) -> None:
    config = make_media_config(tmp_path, database_url, media_quota_bytes_per_user=100)
    async with media_client(config) as client:
        alice = await client.register("alice")
        results = await asyncio.gather(*(upload(client, alice, bytes([n]) * 60) for n in range(4)))
        assert sorted(r.status for r in results) == [200, 403, 403, 403]
        assert await media_rows(client) == 1
        assert len(files_under(config)) == 1


async def test_unknown_and_invalid_media(client: TestClient) -> None:
    alice = await client.register("alice")
    for path in ("localhost/doesNotExist", "localhost/a.b", "localhost/..", "other.example/abc"):
        got = await raw(client, "GET", f"{MEDIA}/download/{path}", user=alice)
        got.error(404, "M_NOT_FOUND")
    # An encoded traversal matches no route at all (the segments are split).
    traversal = await raw(
        client, "GET", f"{MEDIA}/download/localhost/..%2F..%2Fhomeserver.yaml", user=alice
    )
    assert traversal.status == 404 and b"server_name" not in traversal.data


async def test_filename_with_controls_is_refused(client: TestClient) -> None:
    alice = await client.register("alice")
    (await upload(client, alice, b"x", filename="a\nb")).error(400, "M_INVALID_PARAM")


async def test_upload_needs_a_token(client: TestClient) -> None:
    got = await raw(client, "POST", UPLOAD, data=b"x")
    got.error(401, "M_MISSING_TOKEN")


async def test_concurrent_async_and_direct_uploads_respect_the_quota(
    tmp_path: Path, database_url: str
) -> None:
    """Uploads to created mxc URIs (PUT) racing direct ones (POST): together
    they never take the user over the quota; the losers store nothing."""
    config = make_media_config(tmp_path, database_url, media_quota_bytes_per_user=100)
    async with media_client(config) as client:
        alice = await client.register("alice")
        created = []
        for _ in range(3):
            answer = await raw(client, "POST", "/_matrix/media/v1/create", user=alice)
            assert answer.status == 200, answer.json
            created.append(media_path(answer.json["content_uri"]))
        puts = [
            raw(
                client,
                "PUT",
                f"/_matrix/media/v3/upload/{path}",
                user=alice,
                data=bytes([n]) * 45,
                content_type="application/octet-stream",
            )
            for n, path in enumerate(created)
        ]
        posts = [upload(client, alice, bytes([10 + n]) * 45) for n in range(3)]
        results = await asyncio.gather(*puts, *posts)
        statuses = sorted(r.status for r in results)
        assert statuses == [200, 200, 403, 403, 403, 403], [r.json for r in results]
        for result in results:
            if result.status == 403:
                result.error(403, "M_FORBIDDEN")
        homeserver = client.app.extensions["homeserver"]
        assert await homeserver.storage.media.usage(alice.user_id) == 90
        assert len(files_under(config)) == 2
