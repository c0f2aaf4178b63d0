"""Media between two real servers (127.0.0.1 and 127.0.0.2 over TLS): a user
of each downloads the other's uploads and thumbnails through their own
server, which fetches them over `/_matrix/federation/v1/media/*` and caches
them: once the origin is down the cached ones are still served and others
are 502. Media over the fetching server's size limit is 502 M_TOO_LARGE,
unknown media 404 M_NOT_FOUND."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import TEST_DATABASE_URL
from tests.federation.two_servers import (
    Account,
    Client,
    FederatingServer,
    free_port_on_both,
    make_ca,
    make_certificate,
)

ADDRESSES = ("127.0.0.1", "127.0.0.2")
SECOND_SERVER_LIMIT = 4 * 1024 * 1024

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
    pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="runs in the SQLite pass"),
]


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Client, Client]]:
    ca = make_ca(tmp_path / "tls")
    port, federation_port = free_port_on_both(ADDRESSES), free_port_on_both(ADDRESSES)
    servers = []
    for address in ADDRESSES:
        chain, key = make_certificate(tmp_path / "tls", address)
        servers.append(
            FederatingServer(address, port, federation_port, tmp_path / address, ca, chain, key)
        )
    servers[1].extra_env = {"MAX_UPLOAD_SIZE": str(SECOND_SERVER_LIMIT)}
    clients: list[Client] = []
    try:
        for server in servers:
            server.start()
            clients.append(Client(server))
        yield clients[0], clients[1]
    finally:
        for client in clients:
            await client.close()
        for server in servers:
            server.stop()


def _auth(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.token}"}


async def upload(
    client: Client, account: Account, data: bytes, content_type: str, filename: str
) -> str:
    response = await client.http.post(
        "/_matrix/media/v3/upload",
        params={"filename": filename},
        content=data,
        headers={**_auth(account), "Content-Type": content_type},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["content_uri"]).removeprefix("mxc://")


async def get_media(
    client: Client, account: Account, kind: str, path: str, **params: Any
) -> httpx.Response:
    return await client.http.get(
        f"/_matrix/client/v1/media/{kind}/{path}", params=params, headers=_auth(account)
    )


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def assert_error(response: httpx.Response, status: int, errcode: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.json()["errcode"] == errcode, response.json()


async def test_media_across_two_servers(pair: tuple[Client, Client]) -> None:
    a, b = pair
    alice = await a.register("alice")
    bob = await b.register("bob")

    document = os.urandom(3 * 1024 * 1024 + 123)  # several read chunks
    picture = png(640, 480)
    too_big = os.urandom(SECOND_SERVER_LIMIT + 1)
    document_path = await upload(a, alice, document, "application/pdf", "report é.pdf")
    picture_path = await upload(a, alice, picture, "image/png", "sky.png")
    big_path = await upload(a, alice, too_big, "application/octet-stream", "big.bin")
    never_fetched = await upload(a, alice, b"later", "text/plain", "later.txt")
    from_b = await upload(b, bob, b"hello from b", "text/plain", "hello.txt")

    # Bob on B reads Alice's media on A (two at once: fetched once, both served).
    first, second = await asyncio.gather(
        get_media(b, bob, "download", document_path),
        get_media(b, bob, "download", document_path),
    )
    for response in (first, second):
        assert response.status_code == 200, response.text
        assert response.content == document
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == (
            "attachment; filename*=utf-8''report%20%C3%A9.pdf"
        )
        assert response.headers["x-content-type-options"] == "nosniff"

    thumbnail = await get_media(
        b, bob, "thumbnail", picture_path, width=64, height=64, method="crop"
    )
    assert thumbnail.status_code == 200, thumbnail.text
    assert thumbnail.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (64, 64)
    scaled = await get_media(b, bob, "thumbnail", picture_path, width=320, height=240)
    assert scaled.status_code == 200, scaled.text
    assert Image.open(io.BytesIO(scaled.content)).size == (320, 240)

    # And Alice on A reads Bob's, the other way round.
    hello = await get_media(a, alice, "download", from_b)
    assert hello.status_code == 200 and hello.content == b"hello from b"
    assert hello.headers["content-disposition"] == 'inline; filename="hello.txt"'

    # Over B's size limit, and unknown to A.
    assert_error(await get_media(b, bob, "download", big_path), 502, "M_TOO_LARGE")
    missing = f"{a.server.server_name}/NoSuchMediaHere"
    assert_error(await get_media(b, bob, "download", missing), 404, "M_NOT_FOUND")

    # A goes away: what B fetched is served from its cache, the rest is 502.
    a.server.stop()
    again = await get_media(b, bob, "download", document_path)
    assert again.status_code == 200 and again.content == document
    cached = await get_media(b, bob, "thumbnail", picture_path, width=64, height=64, method="crop")
    assert cached.status_code == 200 and cached.content == thumbnail.content
    assert_error(await get_media(b, bob, "download", never_fetched), 502, "M_UNKNOWN")
    uncached_size = await get_media(b, bob, "thumbnail", picture_path, width=32, height=32)
    assert_error(uncached_size, 502, "M_UNKNOWN")
