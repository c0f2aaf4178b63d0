"""Thumbnails: the spec's crop and scale, never upscaled, made once per size
and method, and no decoding of images too large to thumbnail."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from homeserver.handlers.media import repository
from homeserver.handlers.media.thumbnails import make_thumbnail, target_size
from homeserver.storage.tables import media_thumbnails
from tests.matrix_client import TestClient, User
from tests.media.helpers import MEDIA, Raw, image_bytes, media_path, raw, upload_ok


async def thumbnail(client: TestClient, user: User, content_uri: str, **query: Any) -> Raw:
    return await raw(
        client, "GET", f"{MEDIA}/thumbnail/{media_path(content_uri)}", user=user, query=query
    )


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


async def thumbnail_rows(client: TestClient) -> int:
    engine = client.app.extensions["homeserver"].storage.engine
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(media_thumbnails)) or 0)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims width x height pixels."""
    real = bytearray(image_bytes(1, 1, "PNG"))
    ihdr = 8  # after the signature: length (4), b"IHDR" (4), data (13), CRC (4)
    assert real[ihdr + 4 : ihdr + 8] == b"IHDR"
    data = struct.pack(">II", width, height) + bytes(real[ihdr + 16 : ihdr + 21])
    real[ihdr + 8 : ihdr + 21] = data
    real[ihdr + 21 : ihdr + 25] = struct.pack(">I", zlib.crc32(b"IHDR" + data))
    return bytes(real)


def test_target_sizes() -> None:
    assert target_size(400, 300, 100, 100, "scale") == (133, 100)
    assert target_size(400, 300, 100, 100, "crop") == (100, 100)
    assert target_size(400, 300, 400, 300, "scale") is None
    assert target_size(400, 300, 800, 600, "crop") is None
    assert target_size(50, 200, 100, 100, "crop") == (50, 100)
    assert target_size(50, 200, 100, 100, "scale") is None


async def test_scale_keeps_the_aspect_ratio_and_covers_the_request(client: TestClient) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(
        client, alice, image_bytes(400, 300, "PNG"), content_type="image/png"
    )
    got = await thumbnail(client, alice, content_uri, width=100, height=100, method="scale")
    assert got.status == 200
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"] == 'inline; filename="thumbnail.png"'
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert opened(got.data).size == (133, 100)


async def test_crop_is_the_requested_size(client: TestClient) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(
        client, alice, image_bytes(400, 300, "JPEG"), content_type="image/jpeg"
    )
    got = await thumbnail(client, alice, content_uri, width=96, height=96, method="crop")
    assert got.status == 200
    assert got.headers["Content-Type"] == "image/jpeg"
    image = opened(got.data)
    assert (image.format, image.size) == ("JPEG", (96, 96))


@pytest.mark.parametrize(
    ("image_format", "content_type"), [("GIF", "image/gif"), ("WEBP", "image/webp")]
)
async def test_gif_and_webp_become_png(
    client: TestClient, image_format: str, content_type: str
) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(
        client, alice, image_bytes(200, 200, image_format), content_type=content_type
    )
    got = await thumbnail(client, alice, content_uri, width=32, height=32, method="crop")
    assert got.status == 200 and got.headers["Content-Type"] == "image/png"
    assert opened(got.data).size == (32, 32)


async def test_a_small_image_is_sent_itself(client: TestClient) -> None:
    alice = await client.register("alice")
    original = image_bytes(40, 30, "PNG")
    content_uri = await upload_ok(client, alice, original, content_type="image/png")
    got = await thumbnail(client, alice, content_uri, width=320, height=240, method="scale")
    assert got.status == 200 and got.data == original


async def test_made_once_per_size_and_method(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = []
    real = repository.make_thumbnail

    def counting(*args: Any) -> Any:
        made.append(args[2:])
        return real(*args)

    monkeypatch.setattr(repository, "make_thumbnail", counting)
    alice = await client.register("alice")
    bob = await client.register("bob")
    content_uri = await upload_ok(
        client, alice, image_bytes(300, 300, "PNG"), content_type="image/png"
    )
    first, again = await asyncio.gather(
        thumbnail(client, alice, content_uri, width=64, height=64, method="crop"),
        thumbnail(client, bob, content_uri, width=64, height=64, method="crop"),
    )
    other = await thumbnail(client, bob, content_uri, width=64, height=64, method="scale")
    assert first.data == again.data and other.status == 200
    assert made == [(64, 64, "crop"), (64, 64, "scale")]
    assert await thumbnail_rows(client) == 2


@pytest.mark.parametrize(("width", "height"), [(6000, 6000), (20000, 20000)])
async def test_too_many_pixels_are_refused_before_decoding(
    client: TestClient, width: int, height: int
) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(
        client, alice, png_claiming(width, height), content_type="image/png"
    )
    got = await thumbnail(client, alice, content_uri, width=32, height=32)
    got.error(413, "M_TOO_LARGE")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"plain text", "text/plain"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        (b"not really a png", "image/png"),
        (image_bytes(50, 50, "JPEG"), "image/png"),  # the bytes are not what they claim
    ],
)
async def test_what_cannot_be_thumbnailed(
    client: TestClient, data: bytes, content_type: str
) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(client, alice, data, content_type=content_type)
    (await thumbnail(client, alice, content_uri, width=32, height=32)).error(400, "M_UNKNOWN")


async def test_bad_parameters(client: TestClient) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(
        client, alice, image_bytes(100, 100, "PNG"), content_type="image/png"
    )
    (await thumbnail(client, alice, content_uri, width=0, height=32)).error(400, "M_INVALID_PARAM")
    (await thumbnail(client, alice, content_uri, width=32)).error(400, "M_MISSING_PARAM")
    bad_method = await thumbnail(client, alice, content_uri, width=32, height=32, method="zoom")
    bad_method.error(400, "M_INVALID_PARAM")
    animated = await thumbnail(client, alice, content_uri, width=32, height=32, animated="true")
    assert animated.status == 200
    (await raw(client, "GET", f"{MEDIA}/thumbnail/{media_path(content_uri)}")).error(
        401, "M_MISSING_TOKEN"
    )


@pytest.mark.parametrize(
    ("width", "height", "method"),
    [
        (33, 17, "crop"),
        (100, 30, "crop"),
        (201, 151, "scale"),
        (799, 601, "scale"),
        (7, 1100, "crop"),
    ],
)
def test_jpeg_thumbnails_decoded_at_reduced_scale_keep_their_size(
    tmp_path: Path, width: int, height: int, method: str
) -> None:
    """JPEGs are decoded at a reduced scale (draft mode) only as far as it
    still covers the thumbnail: every size comes out exactly as without."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(image_bytes(1600, 1200, "JPEG"))
    made = make_thumbnail(path, "image/jpeg", width, height, method)
    assert made is not None
    expected = target_size(1600, 1200, width, height, method)
    assert (made.width, made.height) == expected
    with Image.open(io.BytesIO(made.data)) as result:
        assert result.size == expected and result.format == "JPEG"
