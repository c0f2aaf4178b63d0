"""Federated media in process: the multipart reader on every way of cutting
a body into chunks, and this server's `/_matrix/federation/v1/media/*`
endpoints for a signed remote server (parsed with the standard library's
MIME parser, not ours); a local user asking for media of a server that
cannot be reached gets 502. Two real servers are in test_two_servers_media."""

from __future__ import annotations

import email
import email.policy
import io
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from federation.client import path_with_query
from federation.multipart import (
    MultipartError,
    MultipartReader,
    boundary_of,
    closing,
    part_head,
)
from federation.request_auth import authorization_header
from homeserver.handlers.media.remote import filename_of
from tests.federation.conftest import FederatedServer
from tests.federation.test_endpoints import remote_key
from tests.media.helpers import UPLOAD, image_bytes, make_media_config, media_client, raw

FEDERATION_MEDIA = "/_matrix/federation/v1/media"
REMOTE = "remote.example.org"


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _body(boundary: str, payload: bytes, preamble: bytes = b"") -> bytes:
    return (
        preamble
        + part_head(boundary, {"Content-Type": "application/json"}, first=True)
        + b"{}"
        + part_head(boundary, {"Content-Type": "image/png", "Content-Length": str(len(payload))})
        + payload
        + closing(boundary)
    )


async def _read_all(data: bytes, boundary: str, size: int) -> list[tuple[dict[str, str], bytes]]:
    reader = MultipartReader(_chunks(data, size), boundary)
    parts = []
    while (headers := await reader.next_part()) is not None:
        parts.append((headers, await reader.read_body(10**7)))
    return parts


@pytest.mark.parametrize("size", [1, 2, 3, 7, 40, 4096, 10**7])
async def test_multipart_reader_any_chunking(size: int) -> None:
    boundary = "b0undary"
    # Bytes that look like the start of a delimiter but are not one.
    payload = b"\r\n--b0und\r\n--b0undar" + bytes(range(256)) * 3 + b"\r\n-"
    parts = await _read_all(_body(boundary, payload, b"ignored preamble\r\n"), boundary, size)
    assert parts == [
        ({"content-type": "application/json"}, b"{}"),
        ({"content-type": "image/png", "content-length": str(len(payload))}, payload),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"",  # nothing at all
        b"--b\r\nContent-Type: application/json\r\n\r\n{}",  # no closing delimiter
        b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\nX: y\r\n\r\nabc",
        b"--b\r\nno colon here\r\n\r\n{}\r\n--b--",
    ],
)
async def test_multipart_reader_refuses_truncated_and_malformed(data: bytes) -> None:
    with pytest.raises(MultipartError):
        await _read_all(data, "b", 3)


def test_boundary_and_filename_parsing() -> None:
    assert boundary_of('multipart/mixed; boundary="abc 123"') == "abc 123"
    assert boundary_of("multipart/mixed; boundary=xyz") == "xyz"
    assert boundary_of("multipart/form-data; boundary=xyz") is None
    assert boundary_of("multipart/mixed") is None
    assert filename_of('inline; filename="cat.png"') == "cat.png"
    assert filename_of("attachment; filename*=utf-8''%C3%A9t%C3%A9.txt") == "été.txt"
    assert filename_of('attachment; filename="../../etc/passwd"') is None
    assert filename_of('attachment; filename="a\\"b"') == 'a"b'
    assert filename_of("attachment") is None


def _parse_multipart(content_type: str, body: bytes) -> list[EmailMessage]:
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.default
    )
    assert isinstance(message, EmailMessage) and message.is_multipart()
    return [part for part in message.iter_parts() if isinstance(part, EmailMessage)]


async def _signed(
    server: FederatedServer,
    keys: tuple[str, Ed25519PrivateKey] | None,
    path: str,
    query: dict[str, str] | None = None,
) -> Any:
    """A GET from REMOTE signed with `keys` (None: unsigned)."""
    target = path_with_query(path, query)
    headers = {}
    if keys is not None:
        headers["Authorization"] = authorization_header(
            "GET", target, REMOTE, "localhost", None, keys[0], keys[1]
        )
    return await server.federation.get(target, headers=headers)


async def test_federation_download_and_thumbnail(federated: FederatedServer) -> None:
    user = await federated.client.register("alice")
    picture = image_bytes(320, 200)
    uploaded = await raw(
        federated.client,
        "POST",
        UPLOAD,
        user=user,
        data=picture,
        content_type="image/png",
        query={"filename": "été.png"},
    )
    media_id = uploaded.json["content_uri"].rsplit("/", 1)[1]
    keys = await remote_key(federated)

    response = await _signed(federated, keys, f"{FEDERATION_MEDIA}/download/{media_id}")
    assert response.status_code == 200
    body = await response.get_data()
    assert int(response.headers["Content-Length"]) == len(body)
    metadata, content = _parse_multipart(response.headers["Content-Type"], body)
    assert metadata.get_content_type() == "application/json"
    assert metadata.get_payload(decode=True) == b"{}"
    assert content.get_content_type() == "image/png"
    assert content.get_payload(decode=True) == picture
    assert filename_of(content["Content-Disposition"]) == "été.png"

    thumb = await _signed(
        federated,
        keys,
        f"{FEDERATION_MEDIA}/thumbnail/{media_id}",
        {"width": "32", "height": "32", "method": "crop"},
    )
    assert thumb.status_code == 200
    _, image_part = _parse_multipart(thumb.headers["Content-Type"], await thumb.get_data())
    assert image_part.get_content_type() == "image/png"
    data = image_part.get_payload(decode=True)
    assert isinstance(data, bytes)
    assert Image.open(io.BytesIO(data)).size == (32, 32)


async def test_federation_media_errors(federated: FederatedServer) -> None:
    user = await federated.client.register("bob")
    uploaded = await raw(
        federated.client, "POST", UPLOAD, user=user, data=b"plain", content_type="text/plain"
    )
    media_id = uploaded.json["content_uri"].rsplit("/", 1)[1]
    keys = await remote_key(federated)

    unsigned = await _signed(federated, None, f"{FEDERATION_MEDIA}/download/{media_id}")
    assert unsigned.status_code == 401
    assert (await unsigned.get_json())["errcode"] == "M_UNAUTHORIZED"

    missing = await _signed(federated, keys, f"{FEDERATION_MEDIA}/download/nosuchmedia")
    assert missing.status_code == 404
    assert (await missing.get_json())["errcode"] == "M_NOT_FOUND"

    not_image = await _signed(
        federated, keys, f"{FEDERATION_MEDIA}/thumbnail/{media_id}", {"width": "8", "height": "8"}
    )
    assert not_image.status_code == 400
    no_size = await _signed(federated, keys, f"{FEDERATION_MEDIA}/thumbnail/{media_id}")
    assert no_size.status_code == 400
    assert (await no_size.get_json())["errcode"] == "M_MISSING_PARAM"


async def test_remote_media_of_an_unreachable_server_is_502(federated: FederatedServer) -> None:
    user = await federated.client.register("carol")
    # Loopback is refused by the outbound guard here (private addresses off).
    for path, query in (
        ("/_matrix/client/v1/media/download/127.0.0.1:1/someMedia", None),
        (
            "/_matrix/client/v1/media/thumbnail/127.0.0.1:1/someMedia",
            {"width": 32, "height": 32},
        ),
    ):
        answer = await raw(federated.client, "GET", path, user=user, query=query)
        answer.error(502, "M_UNKNOWN")
    bad_id = await raw(
        federated.client, "GET", "/_matrix/client/v1/media/download/127.0.0.1:1/bad.id", user=user
    )
    bad_id.error(404, "M_NOT_FOUND")


async def test_remote_media_without_federation_is_404(tmp_path: Path, database_url: str) -> None:
    async with media_client(make_media_config(tmp_path, database_url)) as client:
        user = await client.register("dave")
        answer = await raw(
            client, "GET", "/_matrix/client/v1/media/download/other.example/abc", user=user
        )
        answer.error(404, "M_NOT_FOUND")
