"""Our server fetching media from a peer over real HTTPS (loopback, a test
CA) that answers in the ways the spec allows but our server and Synapse do
not use: the media part of the multipart answer a `Location` to fetch the
bytes from, and `404 M_UNRECOGNIZED` for the federation endpoints (then the
deprecated `/_matrix/media/v3/download` with `allow_remote=false`); and in
ways it does not allow: an answer cut off before its closing delimiter, a
part shorter than its Content-Length, a thumbnail that is not an image (all
502, nothing cached)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from quart import Quart, Response, request

from federation.app import create_federation_app
from homeserver.app import create_app
from tests.conftest import make_config
from tests.federation.servers import free_port_on
from tests.federation.tls import TestCA
from tests.matrix_client import TestClient
from tests.media.helpers import image_bytes, raw

PEER_HOST = "127.0.0.2"
REDIRECTED = b"bytes behind a Location"
LEGACY = b"bytes from the deprecated endpoint"


@dataclass
class Peer:
    server_name: str
    requests: list[str] = field(default_factory=list)


def _multipart(boundary: str, media_headers: str, media: bytes, close: bool = True) -> bytes:
    body = (
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n"
        f"--{boundary}\r\n{media_headers}\r\n\r\n"
    ).encode() + media
    return body + (f"\r\n--{boundary}--\r\n".encode() if close else b"")


def peer_app(peer: Peer) -> Quart:
    app = Quart("peer")
    boundary = "6e1e2d0b"

    @app.before_request
    async def record() -> None:
        peer.requests.append(f"{request.path}?{request.query_string.decode()}")

    @app.get("/_matrix/federation/v1/media/download/<media_id>")
    async def download(media_id: str) -> Response:
        mixed = f"multipart/mixed; boundary={boundary}"
        if media_id == "redirected":
            location = f"Location: https://{peer.server_name}/cdn/file"
            return Response(_multipart(boundary, location, b""), content_type=mixed)
        if media_id == "shortBody":
            headers = "Content-Type: text/plain\r\nContent-Length: 100"
            return Response(_multipart(boundary, headers, b"y" * 50), content_type=mixed)
        if media_id == "cutOff":
            headers = "Content-Type: text/plain"
            return Response(_multipart(boundary, headers, b"x" * 5000, False), content_type=mixed)
        return Response(
            '{"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}',
            status=404,
            content_type="application/json",
        )

    @app.get("/_matrix/federation/v1/media/thumbnail/<media_id>")
    async def thumbnail(media_id: str) -> Response:
        mixed = f"multipart/mixed; boundary={boundary}"
        if media_id == "htmlThumb":
            body = _multipart(boundary, "Content-Type: text/html", b"<script>alert(1)</script>")
            return Response(body, content_type=mixed)
        body = _multipart(boundary, "Content-Type: image/png", image_bytes(16, 16))
        return Response(body, content_type=mixed)

    @app.get("/cdn/file")
    async def cdn() -> Response:
        response = Response(REDIRECTED, content_type="text/plain")
        response.headers["Content-Disposition"] = 'attachment; filename="cdn.txt"'
        return response

    @app.get("/_matrix/media/v3/download/<server>/<media_id>")
    async def legacy(server: str, media_id: str) -> Response:
        if request.args.get("allow_remote") != "false":
            return Response("allow_remote must be false", status=400)
        return Response(LEGACY, content_type="application/pdf")

    return app


@pytest.fixture
async def peer(tmp_path: Path) -> AsyncIterator[tuple[Peer, TestCA]]:
    (tmp_path / "tls").mkdir()
    tls = TestCA(tmp_path / "tls")
    chain, key = tls.issue(PEER_HOST)
    port = free_port_on(PEER_HOST)
    config = HypercornConfig()
    config.bind = [f"{PEER_HOST}:{port}"]
    config.certfile, config.keyfile = str(chain), str(key)
    config.loglevel = "WARNING"
    found = Peer(f"{PEER_HOST}:{port}")
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(peer_app(found), config, shutdown_trigger=stop.wait))
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection(PEER_HOST, port, ssl=context)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        break
    yield found, tls
    stop.set()
    await serving


@pytest.fixture
async def ours(
    tmp_path: Path, database_url: str, peer: tuple[Peer, TestCA]
) -> AsyncIterator[TestClient]:
    config = make_config(
        tmp_path / "ours",
        database_url,
        enable_federation=True,
        federation_allow_private_addresses=True,
        federation_ca_file=str(peer[1].ca_file),
    )
    app = create_app(config)
    federation_app = create_federation_app(config, app)
    async with app.test_app() as client_app, federation_app.test_app():
        yield TestClient(client_app.test_client(), client_app.app)


MEDIA = "/_matrix/client/v1/media"


async def test_location_legacy_fallback_and_malformed_answers(
    ours: TestClient, peer: tuple[Peer, TestCA]
) -> None:
    remote, _ = peer
    alice = await ours.register("alice")

    redirected = await raw(
        ours, "GET", f"{MEDIA}/download/{remote.server_name}/redirected", user=alice
    )
    assert redirected.status == 200, redirected.json
    assert redirected.data == REDIRECTED
    assert redirected.headers["Content-Type"] == "text/plain"
    assert redirected.headers["Content-Disposition"] == 'inline; filename="cdn.txt"'

    legacy = await raw(ours, "GET", f"{MEDIA}/download/{remote.server_name}/oldServer", user=alice)
    assert legacy.status == 200, legacy.json
    assert legacy.data == LEGACY
    assert legacy.headers["Content-Type"] == "application/pdf"
    assert any(
        r.startswith(f"/_matrix/media/v3/download/{remote.server_name}/oldServer?")
        and "allow_remote=false" in r
        for r in remote.requests
    )

    for _ in range(2):  # not cached: asked again, refused again
        cut = await raw(ours, "GET", f"{MEDIA}/download/{remote.server_name}/cutOff", user=alice)
        cut.error(502, "M_UNKNOWN")
    assert sum("/cutOff" in r for r in remote.requests) == 2
    short = await raw(ours, "GET", f"{MEDIA}/download/{remote.server_name}/shortBody", user=alice)
    short.error(502, "M_UNKNOWN")

    html = await raw(
        ours,
        "GET",
        f"{MEDIA}/thumbnail/{remote.server_name}/htmlThumb",
        user=alice,
        query={"width": 16, "height": 16},
    )
    html.error(502, "M_UNKNOWN")
    png = await raw(
        ours,
        "GET",
        f"{MEDIA}/thumbnail/{remote.server_name}/pic",
        user=alice,
        query={"width": 16, "height": 16},
    )
    assert png.status == 200 and png.headers["Content-Type"] == "image/png"

    # What was fetched is served from the cache: the peer is not asked again.
    before = len(remote.requests)
    again = await raw(ours, "GET", f"{MEDIA}/download/{remote.server_name}/redirected", user=alice)
    assert again.data == REDIRECTED and len(remote.requests) == before
    incoming = ours.app.extensions["homeserver"].media.files.incoming
    assert list(incoming.iterdir()) == []  # nothing left of the refused answers
