"""A small Matrix client over Quart's test client for the server tests. Every
response is checked against the OpenAPI contract (tests/contract.py)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from quart import Quart
from quart.testing import QuartClient

from tests.contract import check_response

V3 = "/_matrix/client/v3"
_txn_counter = itertools.count(1)


def q(segment: str) -> str:
    """Percent-encodes one path segment (room ids, aliases, user ids, types)."""
    return quote(segment, safe="")


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]

    def ok(self) -> Any:
        assert self.status == 200, f"expected 200, got {self.status}: {self.body}"
        return self.body

    def error(self, status: int, errcode: str) -> Any:
        assert self.status == status and isinstance(self.body, dict), (
            f"expected {status} {errcode}, got {self.status}: {self.body}"
        )
        assert self.body.get("errcode") == errcode, self.body
        assert isinstance(self.body.get("error"), str), self.body
        return self.body


@dataclass
class User:
    user_id: str
    access_token: str
    device_id: str
    password: str


def password_auth(user: User, password: str, session: str | None = None) -> dict[str, Any]:
    """The `auth` of a user-interactive `m.login.password` stage."""
    auth: dict[str, Any] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user.user_id},
        "password": password,
    }
    if session is not None:
        auth["session"] = session
    return auth


class TestClient:
    __test__ = False

    def __init__(self, client: QuartClient, app: Quart) -> None:
        self._client = client
        self.app = app

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        token: str | None = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        check_contract: bool = True,
    ) -> Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": all_headers}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        if query is not None:
            kwargs["query_string"] = {k: str(v) for k, v in query.items()}
        response = await self._client.open(path, method=method, **kwargs)
        raw = await response.get_data()
        body: Any = None
        if response.mimetype == "application/json" and raw:
            body = await response.get_json()
        if check_contract:
            check_response(method, path, response.status_code, body, response.mimetype)
        return Response(response.status_code, body, dict(response.headers))

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Response:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Response:
        return await self.request("DELETE", path, **kwargs)

    # -- conveniences ----------------------------------------------------------

    async def register(self, username: str, password: str = "correct horse battery") -> User:
        body = {"username": username, "password": password}
        first = await self.post(f"{V3}/register", json=body)
        assert first.status == 401, first.body
        session = first.body["session"]
        body["auth"] = {"type": "m.login.dummy", "session": session}
        done = (await self.post(f"{V3}/register", json=body)).ok()
        return User(done["user_id"], done["access_token"], done["device_id"], password)

    async def create_room(self, user: User, **body: Any) -> str:
        result = (await self.post(f"{V3}/createRoom", json=body, token=user.access_token)).ok()
        return str(result["room_id"])

    async def send_text(
        self, user: User, room_id: str, text: str, txn_id: str | None = None
    ) -> str:
        txn = txn_id or f"t{next(_txn_counter)}"
        result = await self.put(
            f"{V3}/rooms/{q(room_id)}/send/m.room.message/{q(txn)}",
            json={"msgtype": "m.text", "body": text},
            token=user.access_token,
        )
        return str(result.ok()["event_id"])

    async def join(self, user: User, room: str) -> Response:
        return await self.post(f"{V3}/join/{q(room)}", json={}, token=user.access_token)

    async def invite(self, user: User, room_id: str, target: str) -> Response:
        return await self.post(
            f"{V3}/rooms/{q(room_id)}/invite", json={"user_id": target}, token=user.access_token
        )

    async def sync(self, user: User, since: str | None = None, **query: Any) -> dict[str, Any]:
        params = dict(query)
        if since is not None:
            params["since"] = since
        result = await self.get(f"{V3}/sync", token=user.access_token, query=params)
        return dict(result.ok())
