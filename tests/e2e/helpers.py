"""Small raw-HTTP helpers for the e2e tests (httpx against the real process)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

V3 = "/_matrix/client/v3"
PASSWORD = "correct horse battery"
_txn = itertools.count()


def q(value: str) -> str:
    return quote(value, safe="")


@dataclass
class User:
    user_id: str
    access_token: str
    device_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (
        f"{response.request.method} {response.request.url.path} -> "
        f"{response.status_code}: {response.text}"
    )
    return response.json()


async def register(http: httpx.AsyncClient, username: str) -> User:
    body = {"username": username, "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    data = ok(await http.post(f"{V3}/register", json=body))
    return User(data["user_id"], data["access_token"], data["device_id"])


async def login(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> User:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": username},
        "password": password,
    }
    data = ok(await http.post(f"{V3}/login", json=body))
    return User(data["user_id"], data["access_token"], data["device_id"])


async def create_room(http: httpx.AsyncClient, user: User, **body: Any) -> str:
    data = ok(await http.post(f"{V3}/createRoom", json=body, headers=user.headers))
    return str(data["room_id"])


async def send_text(http: httpx.AsyncClient, user: User, room_id: str, text: str) -> str:
    url = f"{V3}/rooms/{q(room_id)}/send/m.room.message/t{next(_txn)}"
    body = {"msgtype": "m.text", "body": text}
    data = ok(await http.put(url, json=body, headers=user.headers))
    return str(data["event_id"])


async def sync(
    http: httpx.AsyncClient, user: User, since: str | None = None, timeout_ms: int = 0
) -> dict[str, Any]:
    params: dict[str, str] = {"timeout": str(timeout_ms)}
    if since is not None:
        params["since"] = since
    response = await http.get(
        f"{V3}/sync", params=params, headers=user.headers, timeout=timeout_ms / 1000 + 10
    )
    result: dict[str, Any] = ok(response)
    return result


def timeline_bodies(sync_body: dict[str, Any], room_id: str) -> list[str]:
    room = sync_body["rooms"]["join"].get(room_id)
    if room is None:
        return []
    return [
        e["content"]["body"] for e in room["timeline"]["events"] if e["type"] == "m.room.message"
    ]


async def page_back_all(
    http: httpx.AsyncClient, user: User, room_id: str, start: str | None, limit: int = 20
) -> list[dict[str, Any]]:
    """Every event before `start` (newest first), following `end` until it is absent."""
    events: list[dict[str, Any]] = []
    token = start
    for _ in range(1000):
        params = {"dir": "b", "limit": str(limit)}
        if token is not None:
            params["from"] = token
        page = ok(
            await http.get(f"{V3}/rooms/{q(room_id)}/messages", params=params, headers=user.headers)
        )
        events.extend(page["chunk"])
        if "end" not in page:
            return events
        assert page["end"] != token, "pagination did not advance"
        token = page["end"]
    raise AssertionError("pagination never ended")
