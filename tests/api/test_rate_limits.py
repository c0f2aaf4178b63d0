"""Rate limiting of logins, registrations and event sends."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.app import create_app
from homeserver.config import Config, RateLimit
from tests.conftest import make_config
from tests.matrix_client import V3, Response, TestClient, q


@pytest.fixture
def config(config: Config) -> Config:
    config.rate_limits_enabled = True
    # Slow refill so nothing comes back during a test.
    config.rate_limit_login = RateLimit(per_second=0.01, burst=3)
    config.rate_limit_register = RateLimit(per_second=0.01, burst=100)
    config.rate_limit_send = RateLimit(per_second=0.01, burst=5)
    return config


def header(response: Response, name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in response.headers.items() if k.lower() == wanted), "")


def assert_limited(response: Response) -> None:
    body = response.error(429, "M_LIMIT_EXCEEDED")
    retry = body["retry_after_ms"]
    assert isinstance(retry, int) and not isinstance(retry, bool)
    assert retry > 0
    # spec/openapi.yaml promises a Retry-After header too, in whole seconds.
    assert header(response, "Retry-After").isdigit()
    assert int(header(response, "Retry-After")) * 1000 >= retry


async def wrong_login(client: TestClient, user: str) -> Response:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": "definitely wrong",
    }
    return await client.post(f"{V3}/login", json=body)


async def test_repeated_wrong_logins_are_limited(client: TestClient) -> None:
    await client.register("alice")
    for _ in range(3):
        (await wrong_login(client, "alice")).error(403, "M_FORBIDDEN")
    assert_limited(await wrong_login(client, "alice"))
    # Even the right password is refused while limited.
    right = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "alice"},
        "password": "correct horse battery",
    }
    assert_limited(await client.post(f"{V3}/login", json=right))


async def test_disabled_limits_never_refuse(config: Config) -> None:
    config.rate_limits_enabled = False
    app = create_app(config)
    async with app.test_app() as test_app:
        unlimited = TestClient(test_app.test_client(), test_app.app)
        await unlimited.register("alice")
        for _ in range(6):
            (await wrong_login(unlimited, "alice")).error(403, "M_FORBIDDEN")


async def test_sends_beyond_burst_are_limited(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    room_id = await client.create_room(alice)  # uses one token of the send bucket
    for i in range(4):
        await client.send_text(alice, room_id, f"message {i}")
    path = f"{V3}/rooms/{q(room_id)}/send/m.room.message/over"
    response = await client.put(
        path, json={"msgtype": "m.text", "body": "one too many"}, token=alice.access_token
    )
    assert_limited(response)
    # The limit is per user: Bob can still create a room and send.
    bobs_room = await client.create_room(bob)
    await client.send_text(bob, bobs_room, "hello")
    # The refused message was not stored.
    messages = (
        await client.get(
            f"{V3}/rooms/{q(room_id)}/messages",
            token=alice.access_token,
            query={"dir": "b", "limit": 50},
        )
    ).ok()
    bodies = [e["content"].get("body") for e in messages["chunk"]]
    assert "one too many" not in bodies
    assert "message 3" in bodies


async def test_registrations_are_limited(config: Config) -> None:
    config.rate_limit_register = RateLimit(per_second=0.01, burst=2)
    app = create_app(config)
    async with app.test_app() as test_app:
        client = TestClient(test_app.test_client(), test_app.app)
        await client.register("alice")
        await client.register("bob")
        body = {"username": "carol", "password": "correct horse battery"}
        first = await client.post(f"{V3}/register", json=body)
        assert first.status == 401, first.body
        body["auth"] = {"type": "m.login.dummy", "session": first.body["session"]}
        assert_limited(await client.post(f"{V3}/register", json=body))
        # The availability check shares the bucket, and no account was created.
        assert_limited(await client.get(f"{V3}/register/available", query={"username": "carol"}))
        right = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "carol"},
            "password": "correct horse battery",
        }
        (await client.post(f"{V3}/login", json=right)).error(403, "M_FORBIDDEN")


async def test_login_limit_is_per_account_however_spelled(tmp_path: Any, database_url: str) -> None:
    config = make_config(
        tmp_path / "data", database_url, rate_limits_enabled=True, trust_x_forwarded_for=True
    )
    config.rate_limit_login = RateLimit(0.001, 2)
    app = create_app(config)
    async with app.test_app() as test_app:
        client = TestClient(test_app.test_client(), test_app.app)
        await client.register("dana")
        spellings = ["dana", "@dana:localhost", "DANA"]
        statuses = []
        for number, user in enumerate(spellings):
            body = {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user},
                "password": "wrong password!",
            }
            # Each attempt from another address: only the per-account limit can bite.
            headers = {"X-Forwarded-For": f"203.0.113.{number + 1}"}
            statuses.append((await client.post(f"{V3}/login", json=body, headers=headers)).status)
        assert statuses == [403, 403, 429]
