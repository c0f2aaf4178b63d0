"""Media between our server and Synapse over federation (loopback, TLS with
a throwaway CA): a Synapse user's upload downloaded and thumbnailed through
our server, and ours through Synapse, each fetched over
`/_matrix/federation/v1/media/*` (multipart) from its origin."""

from __future__ import annotations

import io
import os

import httpx
from PIL import Image

from tests.e2e.helpers import User, register
from tests.federation.servers import FederatingServer
from tests.federation.synapse_peer import Synapse
from tests.federation.tls import TestCA

MEDIA = "/_matrix/client/v1/media"


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (240, 180, 10)).save(buffer, "PNG")
    return buffer.getvalue()


async def upload(http: httpx.AsyncClient, user: User, data: bytes, content_type: str) -> str:
    response = await http.post(
        "/_matrix/media/v3/upload",
        params={"filename": "file"},
        content=data,
        headers={**user.headers, "Content-Type": content_type},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["content_uri"]).removeprefix("mxc://")


async def test_media_both_ways_with_synapse(
    ours_and_synapse: tuple[FederatingServer, Synapse, TestCA],
) -> None:
    ours, synapse, _ = ours_and_synapse
    async with (
        httpx.AsyncClient(base_url=ours.base_url, timeout=60) as http_ours,
        httpx.AsyncClient(base_url=synapse.client_url, timeout=60) as http_synapse,
    ):
        alice = await register(http_ours, "alice")
        bob = await register(http_synapse, "bob")
        data_ours, data_synapse = os.urandom(1_500_000), os.urandom(1_200_000)
        picture = png(500, 400)
        ours_file = await upload(http_ours, alice, data_ours, "application/octet-stream")
        ours_picture = await upload(http_ours, alice, picture, "image/png")
        synapse_file = await upload(http_synapse, bob, data_synapse, "application/octet-stream")
        synapse_picture = await upload(http_synapse, bob, picture, "image/png")

        # Ours fetches Synapse's media.
        got = await http_ours.get(f"{MEDIA}/download/{synapse_file}", headers=alice.headers)
        assert got.status_code == 200, got.text
        assert got.content == data_synapse
        thumb = await http_ours.get(
            f"{MEDIA}/thumbnail/{synapse_picture}",
            params={"width": 96, "height": 96, "method": "crop"},
            headers=alice.headers,
        )
        assert thumb.status_code == 200, thumb.text
        assert thumb.headers["content-type"] in ("image/png", "image/jpeg")
        assert Image.open(io.BytesIO(thumb.content)).size == (96, 96)
        missing = await http_ours.get(
            f"{MEDIA}/download/{synapse.server_name}/NoSuchMedia", headers=alice.headers
        )
        assert missing.status_code == 404, missing.text
        assert missing.json()["errcode"] == "M_NOT_FOUND"

        # Synapse fetches ours.
        got = await http_synapse.get(f"{MEDIA}/download/{ours_file}", headers=bob.headers)
        assert got.status_code == 200, got.text
        assert got.content == data_ours
        thumb = await http_synapse.get(
            f"{MEDIA}/thumbnail/{ours_picture}",
            params={"width": 96, "height": 96, "method": "crop"},
            headers=bob.headers,
        )
        assert thumb.status_code == 200, thumb.text
        assert Image.open(io.BytesIO(thumb.content)).size == (96, 96)
