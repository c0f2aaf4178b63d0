"""An in-process server that may push to 127.0.0.1 (push_allow_private_addresses)
and retries fast, and a local push service to receive its pushes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from homeserver.config import Config
from homeserver.push.dispatcher import DispatchSettings
from homeserver.push.retry import RetryPolicy
from homeserver.server import HomeServer
from tests.conftest import make_config
from tests.matrix_client import V3, TestClient, User
from tests.notifications.push_service import PushService, Subscription

FAST_RETRIES = RetryPolicy(max_attempts=4, base_delay_seconds=0.05, max_delay_seconds=0.5)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return make_config(tmp_path / "data", database_url, push_allow_private_addresses=True)


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
def server(client: TestClient) -> HomeServer:
    server: HomeServer = client.app.extensions["homeserver"]
    server.push.dispatcher.settings = DispatchSettings(retry=FAST_RETRIES)
    return server


async def settle(server: HomeServer) -> None:
    """Waits until every push of the events sent so far has been dealt with."""
    await server.push.dispatcher.wait_idle()


async def dm_with_pusher(
    client: TestClient, server: HomeServer, push_service: PushService
) -> tuple[User, User, str, Subscription]:
    """Alice and Bob in a DM; Bob's browser has a Web Push pusher (pushes to
    /wpush/bob). Returns alice, bob, the room and Bob's subscription."""
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await direct_chat(client, alice, bob)
    await settle(server)
    browser = push_service.subscription("bob")
    await set_pusher(client, bob, browser.pusher())
    return alice, bob, room_id, browser


async def set_pusher(client: TestClient, user: User, body: dict[str, Any]) -> None:
    (await client.post(f"{V3}/pushers/set", json=body, token=user.access_token)).ok()


async def pushers(client: TestClient, user: User) -> list[dict[str, Any]]:
    return list((await client.get(f"{V3}/pushers", token=user.access_token)).ok()["pushers"])


async def direct_chat(client: TestClient, alice: User, bob: User) -> str:
    """A two-member room (the one-to-one rules apply), created by alice."""
    room_id = await client.create_room(
        alice, preset="trusted_private_chat", is_direct=True, invite=[bob.user_id]
    )
    (await client.join(bob, room_id)).ok()
    return room_id
