"""Media are served so that an upload cannot act as a page of this origin;
the unauthenticated paths are frozen."""

from __future__ import annotations

import pytest

from homeserver.handlers.media.serving import clean_content_type, content_disposition
from tests.matrix_client import TestClient
from tests.media.helpers import LEGACY, download, media_path, raw, upload_ok

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<html><script>alert(document.cookie)</script></html>"


async def test_security_headers(client: TestClient) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(client, alice, b"GIF89a", content_type="image/gif")
    got = await download(client, alice, content_uri)
    csp = got.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox;")
    assert "default-src 'none'" in csp and "script-src 'none'" in csp
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert got.headers["Content-Disposition"] == "inline"


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("image/svg+xml", SVG),
        ("text/html", HTML),
        ("text/html; charset=utf-8", HTML),
        ("application/xhtml+xml", HTML),
        ("application/javascript", b"alert(1)"),
    ],
)
async def test_active_content_is_an_attachment(
    client: TestClient, content_type: str, data: bytes
) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(
        client, alice, data, content_type=content_type, filename="page.html"
    )
    got = await download(client, alice, content_uri)
    assert got.headers["Content-Disposition"] == 'attachment; filename="page.html"'
    assert got.headers["Content-Security-Policy"].startswith("sandbox;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.data == data


async def test_malformed_content_type_is_octet_stream(client: TestClient) -> None:
    alice = await client.register("alice")
    for odd in ("image/png, text/html", "text/plain <script>", 'image/png; x="\x7f"'):
        content_uri = await upload_ok(client, alice, b"x", content_type=odd)
        got = await download(client, alice, content_uri)
        assert got.headers["Content-Type"] == "application/octet-stream"
        assert got.headers["Content-Disposition"] == "attachment"


def test_content_types_and_dispositions() -> None:
    assert clean_content_type("Image/PNG") == "Image/PNG"
    assert clean_content_type('text/plain; charset="utf-8"') == 'text/plain; charset="utf-8"'
    assert clean_content_type("not a type") == "application/octet-stream"
    assert clean_content_type(None) == "application/octet-stream"
    assert content_disposition("Image/PNG", None) == "inline"
    assert content_disposition("video/mp4", 'a"b.mp4') == "inline; filename*=utf-8''a%22b.mp4"
    assert content_disposition("image/svg+xml", "x.svg") == 'attachment; filename="x.svg"'
    assert (
        content_disposition("application/pdf", "日本.pdf")
        == "attachment; filename*=utf-8''%E6%97%A5%E6%9C%AC.pdf"
    )


async def test_legacy_paths_are_frozen(client: TestClient) -> None:
    alice = await client.register("alice")
    content_uri = await upload_ok(client, alice, b"\x89PNG", content_type="image/png")
    where = media_path(content_uri)
    for path in (
        f"{LEGACY}/download/{where}",
        f"{LEGACY}/download/{where}/name.png",
        f"{LEGACY}/thumbnail/{where}?width=32&height=32",
    ):
        (await raw(client, "GET", path)).error(404, "M_NOT_FOUND")
        (await raw(client, "GET", path, user=alice)).error(404, "M_NOT_FOUND")
    config = await raw(client, "GET", f"{LEGACY}/config", user=alice)
    assert config.status == 200 and config.json == {"m.upload.size": 50 * 1024 * 1024}
    (await raw(client, "GET", f"{LEGACY}/config")).error(401, "M_MISSING_TOKEN")
