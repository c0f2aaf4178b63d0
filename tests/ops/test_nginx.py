"""deploy/nginx.conf in a real nginx in front of a real server process.

Skipped (with the reason) where nginx is not installed: `apt-get install nginx`."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.e2e.conftest import ServerProcess, StartServer, free_port
from tests.e2e.helpers import V3, create_room, register, send_text, sync, timeline_bodies
from tests.ops.nginx import Nginx, nginx_binary

NGINX = nginx_binary()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)"),
]

ASSET = "index-3f9a1c.js"
SOCKET_PATH = "/_matrix/client/unstable/homeserver.sync/ws"


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "assets" / ASSET).write_text("console.log('hashed')\n")
    return root


@pytest.fixture
def proxied(
    start_server: StartServer, tmp_path: Path, web_root: Path
) -> Iterator[tuple[Nginx, ServerProcess]]:
    server = start_server(env={"TRUST_X_FORWARDED_FOR": "true"})
    directory = tmp_path / "nginx"
    directory.mkdir()
    assert NGINX is not None
    nginx = Nginx(NGINX, directory, free_port(), free_port(), [server.port], web_root)
    nginx.write()
    nginx.start()
    yield nginx, server
    nginx.stop()


def test_configuration_is_valid(tmp_path: Path, web_root: Path) -> None:
    assert NGINX is not None
    nginx = Nginx(NGINX, tmp_path, free_port(), free_port(), [free_port(), free_port()], web_root)
    nginx.write()
    checked = nginx.check()
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


async def test_the_server_through_nginx(proxied: tuple[Nginx, ServerProcess]) -> None:
    nginx, server = proxied
    base = f"https://127.0.0.1:{nginx.https_port}"
    async with (
        asyncio.timeout(60),
        httpx.AsyncClient(base_url=base, verify=False, timeout=15) as http,
    ):
        versions = await http.get("/_matrix/client/versions")
        assert versions.status_code == 200 and "versions" in versions.json()
        assert versions.headers["strict-transport-security"].startswith("max-age=")

        # A long poll waits through nginx and is woken by a send.
        alice = await register(http, "alice")
        room_id = await create_room(http, alice, name="Proxied")
        since = (await sync(http, alice))["next_batch"]
        poll = asyncio.create_task(sync(http, alice, since=since, timeout_ms=20_000))
        await asyncio.sleep(0.2)
        await send_text(http, alice, room_id, "through nginx")
        assert timeline_bodies(await poll, room_id) == ["through nginx"]

        # WebSocket upgrade.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        async with websockets.connect(
            f"wss://127.0.0.1:{nginx.https_port}{SOCKET_PATH}",
            subprotocols=["homeserver.sync.v1"],  # type: ignore[list-item]
            ssl=context,
        ) as socket:
            await socket.send(json.dumps({"type": "start", "access_token": alice.access_token}))
            assert json.loads(await socket.recv())["type"] == "ready"

        # Bodies above the server's limit: the Matrix error, from nginx.
        too_big = await http.put(
            f"{V3}/rooms/{room_id}/send/m.room.message/big",
            content=b'{"body": "' + b"x" * 1_100_000 + b'"}',
            headers={**alice.headers, "Content-Type": "application/json"},
        )
        assert too_big.status_code == 413
        assert too_big.json()["errcode"] == "M_TOO_LARGE"

        # /metrics stays private; hashed assets are cached for a year.
        hidden = await http.get("/metrics")
        assert hidden.status_code == 404 and hidden.json()["errcode"] == "M_UNRECOGNIZED"
        asset = await http.get(f"/assets/{ASSET}")
        assert asset.status_code == 200 and asset.text == "console.log('hashed')\n"
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "javascript" in asset.headers["content-type"]
        missing = await http.get("/assets/gone-123.js")  # not on disk: the server answers
        assert missing.status_code == 404 and missing.json()["errcode"] == "M_NOT_FOUND"

        plain = await http.get(f"http://127.0.0.1:{nginx.http_port}/login")
        assert plain.status_code == 301
        assert plain.headers["location"].startswith("https://")

        # No worker answering: 503 in Matrix form.
        await asyncio.to_thread(server.stop)
        down = await http.get("/_matrix/client/versions")
        assert down.status_code == 503, down.text
        assert down.json()["errcode"] == "M_UNKNOWN"
        assert down.headers["retry-after"] == "1"
