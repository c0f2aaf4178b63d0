"""Web Push from the real server process: the environment switch for private
addresses, the VAPID key file in the data folder, and a restart keeping both
the key (subscriptions stay valid) and the pushers."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from homeserver.push.vapid import VAPID_KEY_FILE
from tests.conftest import TEST_DATABASE_URL, truncate_postgres
from tests.e2e.conftest import ServerProcess, free_port
from tests.e2e.helpers import V3, create_room, ok, q, register, send_text
from tests.notifications.push_service import PushService, Subscription, verify_vapid

pytestmark = pytest.mark.e2e


@pytest.fixture
def server_process(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    if TEST_DATABASE_URL:
        database_url = str(request.getfixturevalue("database_template"))
        asyncio.run(truncate_postgres(database_url))
    else:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'homeserver.db'}"
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    server = ServerProcess(
        data_dir=tmp_path / "data",
        port=free_port(),
        database_url=database_url,
        log_dir=log_dir,
        extra_env={"PUSH_ALLOW_PRIVATE_ADDRESSES": "true", "LOG_LEVEL": "WARNING"},
    )
    server.start()
    yield server
    server.kill()


async def _vapid_key(http: httpx.AsyncClient, headers: dict[str, str]) -> str:
    capabilities = ok(await http.get(f"{V3}/capabilities", headers=headers))
    return str(capabilities["capabilities"]["m.webpush"]["vapid"])


async def _expect_push(
    service: PushService, browser: Subscription, count: int, vapid: str
) -> dict[str, object]:
    pushes = await service.wait_for("/wpush/bob", count)
    key, _claims = verify_vapid(pushes[-1].headers["authorization"], service.origin)
    assert key == vapid
    return browser.decrypt(pushes[-1].body)


async def test_pushes_survive_a_restart(
    server_process: ServerProcess, push_service: PushService
) -> None:
    key_file = server_process.data_dir / VAPID_KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    browser = push_service.subscription("bob")
    async with httpx.AsyncClient(base_url=server_process.base_url, timeout=10) as http:
        alice = await register(http, "alice")
        bob = await register(http, "bob")
        vapid = await _vapid_key(http, bob.headers)
        room_id = await create_room(http, alice, preset="public_chat")
        ok(await http.post(f"{V3}/join/{q(room_id)}", json={}, headers=bob.headers))
        ok(await http.post(f"{V3}/pushers/set", json=browser.pusher(), headers=bob.headers))
        first = await send_text(http, alice, room_id, "before the restart")
        assert (await _expect_push(push_service, browser, 1, vapid))["event_id"] == first

        await asyncio.to_thread(server_process.restart)

        assert await _vapid_key(http, bob.headers) == vapid
        pushers = ok(await http.get(f"{V3}/pushers", headers=bob.headers))["pushers"]
        assert [p["pushkey"] for p in pushers] == [browser.p256dh]
        second = await send_text(http, alice, room_id, "after the restart")
        payload = await _expect_push(push_service, browser, 2, vapid)
        assert payload["event_id"] == second and payload["body"] == "after the restart"
