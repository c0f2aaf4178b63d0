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
from homeserver.storage.media import RemoteRecord, ThumbnailRecord
from homeserver.storage.tables import media
from tests.matrix_client import V3, TestClient, password_auth, q
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


async def test_purge_media_of_redacted_events(
    client: TestClient, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    """A redacted event's stored JSON loses its content, and with it the mxc
    URI: its media counts as unreferenced; the other message's stays."""
    alice = await client.register("alice")
    room_id = await client.create_room(alice)
    kept, redacted = b"kept picture", b"regretted picture"
    kept_uri = await upload_ok(client, alice, kept, content_type="image/png")
    redacted_uri = await upload_ok(client, alice, redacted, content_type="image/png")
    event_ids = []
    for n, uri in enumerate((kept_uri, redacted_uri)):
        sent = await client.put(
            f"{V3}/rooms/{q(room_id)}/send/m.room.message/r{n}",
            json={"msgtype": "m.image", "body": "pic.png", "url": uri},
            token=alice.access_token,
        )
        event_ids.append(sent.ok()["event_id"])
    assert (await purge(config, "--older-than", "0", capsys=capsys)).strip() == "purged 0 media"
    (
        await client.put(
            f"{V3}/rooms/{q(room_id)}/redact/{q(event_ids[1])}/x1",
            json={"reason": "oops"},
            token=alice.access_token,
        )
    ).ok()
    assert (await purge(config, "--older-than", "0", capsys=capsys)).strip() == "purged 1 media"
    assert await media_ids(client) == {mid(kept_uri)}
    assert not file_of(config, redacted).exists()
    (await download(client, alice, redacted_uri)).error(404, "M_NOT_FOUND")
    assert (await download(client, alice, kept_uri)).data == kept


async def test_purge_media_of_deactivated_accounts(
    client: TestClient, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--deactivated`: every upload of accounts closed with or without
    erasure, even if a message still points to it; active accounts' stay."""
    alice = await client.register("alice")
    bob = await client.register("bob")
    carol = await client.register("carol")
    room_id = await client.create_room(carol, preset="public_chat")
    uploads = {}
    for user in (alice, bob, carol):
        data = f"file of {user.user_id}".encode()
        uploads[user.user_id] = (data, await upload_ok(client, user, data))
    (await client.join(alice, room_id)).ok()
    (
        await client.put(
            f"{V3}/rooms/{q(room_id)}/send/m.room.message/d1",
            json={"msgtype": "m.file", "body": "f", "url": uploads[alice.user_id][1]},
            token=alice.access_token,
        )
    ).ok()
    for user, erase in ((alice, True), (bob, False)):
        body = {"erase": erase, "auth": password_auth(user, user.password)}
        (await client.post(f"{V3}/account/deactivate", json=body, token=user.access_token)).ok()

    out = await purge(config, "--deactivated", capsys=capsys)
    assert out.strip() == "purged 2 media"
    assert await media_ids(client) == {mid(uploads[carol.user_id][1])}
    assert not file_of(config, uploads[alice.user_id][0]).exists()
    assert not file_of(config, uploads[bob.user_id][0]).exists()
    assert file_of(config, uploads[carol.user_id][0]).exists()
    assert (await purge(config, "--deactivated", capsys=capsys)).strip() == "purged 0 media"


async def test_purge_cached_remote_media(
    client: TestClient, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--remote-older-than`: other servers' media cached here are forgotten
    with their thumbnails; a file local media share is kept."""
    alice = await client.register("alice")
    homeserver = client.app.extensions["homeserver"]
    store, files = homeserver.storage.media, homeserver.media.files
    shared = b"uploaded here and there"
    await upload_ok(client, alice, shared)
    only_remote, thumbnail = b"only over there", image_bytes(8, 8)
    for media_id, data in (("remoteOne", only_remote), ("remoteShared", shared)):
        sha256 = await files.store_bytes(data)
        record = RemoteRecord("application/octet-stream", None, len(data), sha256)
        await store.add_remote("other.example", media_id, record, 1000)
    thumb_sha = await files.store_bytes(thumbnail)
    await store.add_remote_thumbnail(
        "other.example",
        "remoteOne",
        8,
        8,
        "crop",
        ThumbnailRecord("image/png", len(thumbnail), thumb_sha),
        1000,
    )

    out = await purge(config, "--remote-older-than", "0", capsys=capsys)
    assert out.strip() == "purged 2 cached remote media and 1 remote thumbnails"
    assert await store.get_remote("other.example", "remoteOne") is None
    assert await store.get_remote("other.example", "remoteShared") is None
    assert not file_of(config, only_remote).exists()
    assert not file_of(config, thumbnail).exists()
    assert file_of(config, shared).exists()  # the local upload still uses it
    out = await purge(config, "--remote-older-than", "0", capsys=capsys)
    assert out.strip() == "purged 0 cached remote media and 0 remote thumbnails"


async def test_purge_refuses_negative_days(config: Config) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    write_config(config, config.data_dir / CONFIG_FILE_NAME)
    for option in ("--older-than", "--remote-older-than"):
        with pytest.raises(SystemExit) as exited:
            main(["--data-dir", str(config.data_dir), "purge-media", option, "-1"])
        assert exited.value.code == 2
