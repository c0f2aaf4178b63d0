"""`homeserver purge-media`: unreferenced media older than some days, or
all of a user's; files go when nothing uses them any more."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from homeserver.cli import main
from homeserver.config import CONFIG_FILE_NAME, Config, write_config
from homeserver.storage.tables import media
from tests.matrix_client import V3, TestClient, q
from tests.media.helpers import CREATE, MEDIA, download, image_bytes, media_path, raw, upload_ok


def file_of(config: Config, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    return config.data_dir / "media" / digest[:2] / digest[2:4] / digest


async def media_ids(client: TestClient) -> set[str]:
    engine = client.app.extensions["homeserver"].storage.engine
    async with engine.connect() as conn:
        return {r[0] for r in await conn.execute(select(media.c.media_id))}


async def purge(config: Config, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    write_config(config, config.data_dir / CONFIG_FILE_NAME)
    await asyncio.to_thread(main, ["--data-dir", str(config.data_dir), "purge-media", *args])
    return capsys.readouterr().out


def mid(content_uri: str) -> str:
    return media_path(content_uri).split("/", 1)[1]


async def test_purge(
    client: TestClient, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice)
    picture = image_bytes(300, 300, "PNG")
    in_message = await upload_ok(client, alice, picture, content_type="image/png")
    avatar = await upload_ok(client, alice, b"avatar bytes", content_type="image/png")
    duplicate = await upload_ok(client, alice, picture, content_type="image/png")
    unused = await upload_ok(client, bob, b"nobody links to me")
    pending = (await raw(client, "POST", CREATE, user=bob)).json["content_uri"]
    sent = await client.put(
        f"{V3}/rooms/{q(room_id)}/send/m.room.message/t1",
        json={"msgtype": "m.image", "body": "cat.png", "url": in_message},
        token=alice.access_token,
    )
    sent.ok()
    (
        await client.put(
            f"{V3}/profile/{q(alice.user_id)}/avatar_url",
            json={"avatar_url": avatar},
            token=alice.access_token,
        )
    ).ok()
    thumb = await raw(
        client,
        "GET",
        f"{MEDIA}/thumbnail/{media_path(duplicate)}",
        user=alice,
        query={"width": 32, "height": 32, "method": "crop"},
    )
    assert thumb.status == 200
    thumb_file = file_of(config, thumb.data)
    assert thumb_file.exists()

    out = await purge(config, "--older-than", "0", capsys=capsys)
    assert out.strip() == "purged 3 media"
    assert await media_ids(client) == {mid(in_message), mid(avatar)}
    assert file_of(config, picture).exists()  # still used by the message's upload
    assert not file_of(config, b"nobody links to me").exists()
    assert not thumb_file.exists()
    (await download(client, bob, unused)).error(404, "M_NOT_FOUND")
    (await download(client, bob, pending, timeout_ms=0)).error(404, "M_NOT_FOUND")
    assert (await download(client, bob, in_message)).data == picture

    out = await purge(config, "--older-than", "30", capsys=capsys)
    assert out.strip() == "purged 0 media"

    out = await purge(config, "--user", alice.user_id, capsys=capsys)
    assert out.strip() == "purged 2 media"
    assert await media_ids(client) == set()
    assert not file_of(config, picture).exists()
    assert not file_of(config, b"avatar bytes").exists()
