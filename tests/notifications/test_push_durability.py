"""The push queue survives a restart and a crash: pushes decided but not yet
delivered are sent after the next start, once; events whose pushes were not
decided yet are looked at again; nothing delivered is sent again."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from homeserver.app import create_app
from homeserver.config import Config
from homeserver.push.progress import Progress
from homeserver.server import HomeServer
from homeserver.storage.push_queue import push_queue_store
from tests.conftest import TEST_DATABASE_URL, truncate_postgres
from tests.e2e.conftest import ServerProcess, free_port
from tests.e2e.helpers import V3, create_room, ok, q, register, send_text
from tests.matrix_client import TestClient
from tests.notifications.conftest import dm_with_pusher, settle
from tests.notifications.push_service import PushService

GATEWAY = "/_matrix/push/v1/notify"


def test_progress_is_the_highest_position_with_nothing_open_below() -> None:
    progress = Progress(10)
    assert progress.through == 10
    for position in (11, 12, 14):
        progress.opened(position)
    progress.seen(15)
    assert progress.through == 10
    progress.closed(12)
    assert progress.through == 10  # 11 is still open
    progress.closed(11)
    assert progress.through == 13
    progress.closed(14)
    assert progress.through == 15
    assert progress.open_count == 0


async def test_events_not_yet_looked_at_are_replayed_at_start(
    client: TestClient,
    server: HomeServer,
    config: Config,
    push_service: PushService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, _bob, room_id, browser = await dm_with_pusher(client, server, push_service)
    first = await client.send_text(alice, room_id, "pushed at once")
    await settle(server)
    assert len(push_service.received["/wpush/bob"]) == 1

    # This server's push workers never get to the next event, as if it had
    # died right after committing it.
    never = asyncio.Event()

    async def stuck(event: dict[str, Any], watched_by: frozenset[str], position: int) -> None:
        await never.wait()

    monkeypatch.setattr(server.push.dispatcher, "_process", stuck)
    second = await client.send_text(alice, room_id, "decided by the next server")

    # The next server on the same database looks at it again. It may start
    # only once this one is gone, which releases the database.
    await server.writer_lock.release()
    async with create_app(config).test_app() as next_app:
        successor: HomeServer = next_app.app.extensions["homeserver"]
        await settle(successor)
        assert successor.push.dispatcher.stats.events_replayed >= 1
    pushed = [browser.decrypt(r.body)["event_id"] for r in push_service.received["/wpush/bob"]]
    assert pushed == [first, second], (pushed, first, second)

    # And the one after it has nothing left to send.
    async with create_app(config).test_app() as third_app:
        await settle(third_app.app.extensions["homeserver"])
    assert len(push_service.received["/wpush/bob"]) == 2


def _gateway_event_ids(service: PushService, start: int = 0) -> list[str]:
    return [
        str(orjson.loads(r.body)["notification"]["event_id"])
        for r in service.received[GATEWAY][start:]
    ]


async def _pushes_settled(http: httpx.AsyncClient) -> None:
    """Until no push is being sent or waits for a retry (the server's metrics)."""
    for _ in range(500):
        text = (await http.get("/metrics")).text
        if "homeserver_push_pending_deliveries 0.0" in text:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("pushes still pending")


@pytest.mark.e2e
async def test_pending_pushes_are_delivered_once_after_sigkill(
    push_service: PushService, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if TEST_DATABASE_URL:
        database_url = str(request.getfixturevalue("database_template"))
        await truncate_postgres(database_url)
    else:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'homeserver.db'}"
    (tmp_path / "logs").mkdir()
    server = ServerProcess(
        data_dir=tmp_path / "data",
        port=free_port(),
        database_url=database_url,
        log_dir=tmp_path / "logs",
        extra_env={"PUSH_ALLOW_PRIVATE_ADDRESSES": "true"},
    )
    await asyncio.to_thread(server.start)
    try:
        async with asyncio.timeout(60), httpx.AsyncClient(base_url=server.base_url) as http:
            await _crash_with_pushes_pending(http, server, push_service)
    except BaseException:
        print(server.logs())
        raise
    finally:
        server.kill()


async def _crash_with_pushes_pending(
    http: httpx.AsyncClient, server: ServerProcess, push_service: PushService
) -> None:
    alice = await register(http, "alice")
    bob = await register(http, "bob")
    room_id = await create_room(http, alice, preset="public_chat")
    ok(await http.post(f"{V3}/join/{q(room_id)}", json={}, headers=bob.headers))
    pusher = {
        "kind": "http",
        "app_id": "org.example.app",
        "pushkey": "bob-phone",
        "app_display_name": "Example",
        "device_display_name": "Bob's phone",
        "lang": "en",
        "data": {"url": push_service.url(GATEWAY)},
    }
    ok(await http.post(f"{V3}/pushers/set", json=pusher, headers=bob.headers))

    delivered = await send_text(http, alice, room_id, "delivered before the crash")
    await push_service.wait_for(GATEWAY, 1)
    await _pushes_settled(http)

    # The gateway is down for a while: every push fails and waits to be retried.
    for _ in range(50):
        push_service.answer(GATEWAY, 503)
    pending = [await send_text(http, alice, room_id, f"pending {n}") for n in range(3)]
    await push_service.wait_for(GATEWAY, 1 + len(pending))
    assert set(_gateway_event_ids(push_service, 1)) == set(pending)

    server.kill()  # SIGKILL: no shutdown of any kind
    push_service._script[GATEWAY].clear()  # the gateway is back
    before_restart = len(push_service.received[GATEWAY])
    await asyncio.to_thread(server.start)

    await push_service.wait_for(GATEWAY, before_restart + len(pending))
    await _pushes_settled(http)
    after = await send_text(http, alice, room_id, "after the restart")
    await push_service.wait_for(GATEWAY, before_restart + len(pending) + 1)
    await _pushes_settled(http)
    resent = Counter(_gateway_event_ids(push_service, before_restart))
    assert resent == Counter({**dict.fromkeys(pending, 1), after: 1}), resent
    assert delivered not in resent


async def test_recorded_progress_never_goes_back(server: HomeServer) -> None:
    store = push_queue_store(server.storage)
    await store.set_progress(1_000)
    await store.set_progress(999)  # a slower process, finishing late
    assert await store.progress() == 1_000
    await store.set_progress(1_001)
    assert await store.progress() == 1_001
