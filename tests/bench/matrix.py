"""The client-server API calls the bench makes, over httpx (HTTP/1.1 keep-alive).
Users are plain data so they can be handed to client processes."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import orjson

from tests.bench.rawhttp import RawConnection

V3 = "/_matrix/client/v3"
PASSWORD = "bench password 1"
# The same inline filter for every server: timelines long enough that nothing
# the bench waits for is cut off, everything else as a client asks by default.
SYNC_FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 50}}}
SYNC_FILTER_JSON = orjson.dumps(SYNC_FILTER).decode()


def timeline_filter(limit: int) -> dict[str, Any]:
    return {"room": {"timeline": {"limit": limit}}}


_txn = itertools.count()
_TXN_PREFIX = f"b{os.getpid()}x"


class ApiError(Exception):
    pass


def q(value: str) -> str:
    return quote(value, safe="")


def next_txn() -> str:
    return f"{_TXN_PREFIX}{next(_txn)}"


@dataclass(frozen=True)
class User:
    user_id: str
    access_token: str
    device_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def new_client(base_url: str, connections: int = 10, timeout: float = 120.0) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout)


def ok(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise ApiError(
            f"{response.request.method} {response.request.url.path} -> "
            f"{response.status_code}: {response.text[:500]}"
        )
    return orjson.loads(response.content)


async def register(http: httpx.AsyncClient, username: str) -> User:
    """Registration through the m.login.dummy stage of user-interactive auth
    (first request for a session, then the dummy stage), as Element does."""
    body: dict[str, Any] = {"username": username, "password": PASSWORD}
    first = await http.post(f"{V3}/register", json=body)
    if first.status_code == 200:
        data = orjson.loads(first.content)
    else:
        if first.status_code != 401:
            ok(first)
        session = orjson.loads(first.content).get("session")
        body["auth"] = {"type": "m.login.dummy", "session": session}
        data = ok(await http.post(f"{V3}/register", json=body))
    return User(data["user_id"], data["access_token"], data["device_id"])


async def create_room(http: httpx.AsyncClient, user: User, **body: Any) -> str:
    data = ok(await http.post(f"{V3}/createRoom", json=body, headers=user.headers))
    return str(data["room_id"])


async def join(http: httpx.AsyncClient, user: User, room_id: str) -> None:
    ok(await http.post(f"{V3}/join/{q(room_id)}", json={}, headers=user.headers))


async def send_text(
    http: httpx.AsyncClient, user: User, room_id: str, text: str, txn: str | None = None
) -> str:
    url = f"{V3}/rooms/{q(room_id)}/send/m.room.message/{q(txn or next_txn())}"
    data = ok(await http.put(url, json={"msgtype": "m.text", "body": text}, headers=user.headers))
    return str(data["event_id"])


async def send_text_raw(
    conn: RawConnection, user: User, room_id: str, text: str, txn: str | None = None
) -> str:
    """`send_text` over the bench's light client (see rawhttp.py)."""
    url = f"{V3}/rooms/{q(room_id)}/send/m.room.message/{q(txn or next_txn())}"
    body = orjson.dumps({"msgtype": "m.text", "body": text})
    return str(
        _raw_ok("PUT", url, *await conn.request("PUT", url, user.access_token, body))["event_id"]
    )


async def sync_raw(
    conn: RawConnection, user: User, since: str, timeout_ms: int, sync_filter: str
) -> dict[str, Any]:
    """An incremental long-poll `sync` over the bench's light client."""
    query = urlencode({"timeout": str(timeout_ms), "since": since, "filter": sync_filter})
    url = f"{V3}/sync?{query}"
    body: dict[str, Any] = _raw_ok("GET", url, *await conn.request("GET", url, user.access_token))
    return body


def _raw_ok(method: str, url: str, status: int, data: bytes) -> Any:
    if status != 200:
        raise ApiError(f"{method} {url.split('?')[0]} -> {status}: {data[:500]!r}")
    return orjson.loads(data)


async def sync(
    http: httpx.AsyncClient,
    user: User,
    since: str | None = None,
    timeout_ms: int = 0,
    *,
    sync_filter: str | None = SYNC_FILTER_JSON,
    set_presence: str | None = None,
) -> dict[str, Any]:
    params: dict[str, str] = {"timeout": str(timeout_ms)}
    if set_presence is not None:
        params["set_presence"] = set_presence
    if since is not None:
        params["since"] = since
    if sync_filter is not None:
        params["filter"] = sync_filter
    response = await http.get(
        f"{V3}/sync", params=params, headers=user.headers, timeout=timeout_ms / 1000 + 60
    )
    result: dict[str, Any] = ok(response)
    return result


async def messages(
    http: httpx.AsyncClient, user: User, room_id: str, start: str | None, limit: int
) -> dict[str, Any]:
    params = {"dir": "b", "limit": str(limit)}
    if start is not None:
        params["from"] = start
    response = await http.get(
        f"{V3}/rooms/{q(room_id)}/messages", params=params, headers=user.headers
    )
    result: dict[str, Any] = ok(response)
    return result


async def set_presence(http: httpx.AsyncClient, user: User, state: str) -> None:
    ok(
        await http.put(
            f"{V3}/presence/{q(user.user_id)}/status",
            json={"presence": state},
            headers=user.headers,
        )
    )


def timeline_bodies(sync_body: dict[str, Any], room_id: str | None = None) -> list[str]:
    """Bodies of the messages in the sync response (one room, or every room)."""
    joined = sync_body.get("rooms", {}).get("join", {})
    rooms = [joined.get(room_id, {})] if room_id is not None else list(joined.values())
    bodies = []
    for room in rooms:
        for event in room.get("timeline", {}).get("events", []):
            if event.get("type") == "m.room.message":
                body = event.get("content", {}).get("body")
                if isinstance(body, str):
                    bodies.append(body)
    return bodies


def presence_count(sync_body: dict[str, Any]) -> int:
    return len(sync_body.get("presence", {}).get("events", []))


def is_empty_sync(sync_body: dict[str, Any]) -> bool:
    """True for a response that carries nothing (a long-poll that timed out)."""
    rooms = sync_body.get("rooms", {})
    if any(rooms.get(section) for section in ("join", "invite", "leave", "knock")):
        return False
    for section in ("presence", "account_data", "to_device"):
        if sync_body.get(section, {}).get("events"):
            return False
    lists = sync_body.get("device_lists", {})
    return not (lists.get("changed") or lists.get("left"))
