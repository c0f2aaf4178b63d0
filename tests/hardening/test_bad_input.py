"""Malformed input on every route of the URL map (enumerated, so routes added
later are covered too): NUL characters, lone surrogates, over-long
identifiers, deep nesting, wrong types, huge numbers, path traversal, bad
access tokens and bad since/from tokens. No answer may be a 5xx, and every
error is in the route's error shape: Matrix JSON (`errcode`, `error`), RFC
6749 JSON (`error`) under /oauth2/, or an HTML page for the sign-in pages.

In-process (Quart's test client), on the test database (SQLite, or PostgreSQL
with TEST_DATABASE_URL), where NUL characters used to reach PostgreSQL."""

from __future__ import annotations

import itertools
import json as stdlib_json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.hardening.routes import Route, body_fields, http_routes, operation, query_names
from tests.matrix_client import V3, Response, TestClient, User, q

_txn = itertools.count()

# Path parameter values that are malformed in some way. (The test client takes
# the decoded path, as Hypercorn hands it on: invalid UTF-8 such as a
# percent-encoded lone surrogate is decoded to U+FFFD.)
BAD_PATH_VALUES = [
    "\x00",
    "!room\x00:localhost",
    "@user\x00:localhost",
    "\ufffd",
    "x" * 5000,
    "!" + "a" * 300 + ":localhost",
    "@" + "a" * 300 + ":localhost",
    "$" + "e" * 300,
    "..",
    "...",
    "%2e%2e",
    "..\\..\\etc\\passwd",
    " ",
    "\u202e\U0001f600",
    "@:",
    "!:",
    "#:",
]

# Values of the wrong type (or out of range) for any JSON field.
BAD_JSON_VALUES: list[Any] = [
    None,
    True,
    -1,
    2**63,
    2**70,
    1.5,
    -1e308,
    "",
    "\x00",
    "a\x00b",
    "x" * 70_000,
    [],
    [None, {}],
    {},
    {"\x00": 1},
    {"nested": {"deeper": [1, "two", None]}},
]


def _deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


# Whole bodies that are not the JSON object expected.
BAD_RAW_BODIES: list[bytes] = [
    b"not json",
    b"[]",
    b'"a string"',
    b"12",
    b"null",
    b"\xff\xfe\x00",
    b'{"a": "\\ud800"}',  # a lone surrogate
    b'{"a": "\\udc00x"}',
    b'{"a": "\\u0000"}',
    b'{"\\u0000": 1}',
    b'{"a": 1e400}',
    b'{"a": 123456789012345678901234567890}',
    b"[" * 5000 + b"]" * 5000,
    _deep(900),
    _deep(5000),
    b'{"a": 1',
]

BAD_QUERY_VALUES = [
    "\x00",
    "\ufffd",
    "x" * 5000,
    "-1",
    "99999999999999999999999999",
    "1e400",
    "s",
    "s1_2",
    "s1_2_3_4_5",
    "s-1_-1_-1",
    "s99999999999999999999_0_0",
    "t1",
    "o",
    "o99999999999999999999",
    "²",
    '{"a":',
    '{"room": {"rooms": ["\\u0000"]}}',
    '{"limit": 99999999999999999999}',
    "[]",
]

BAD_TOKENS = [
    "garbage",
    "x" * 10_000,
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJAYWxpY2U6bG9jYWxob3N0In0.",
    "a.b.c",
    "\ufffd",
]
BAD_AUTHORIZATION = ["Bearer", "Bearer ", "Basic !!!", "Basic qw==", "Basic q6s=", "Token x"]


@dataclass
class World:
    """A user with a room, an event, a device and an alias: plausible values
    for every path parameter, so that only the bad one is wrong."""

    user: User
    room_id: str
    event_id: str
    alias: str
    values: dict[str, str] = field(default_factory=dict)

    def fill(self, route: Route, **override: str) -> str:
        values = {}
        for name in route.params:
            if name in route.choices:
                values[name] = route.choices[name][0]
            else:
                values[name] = self.values.get(name, "x")
        values.update(override)
        return route.path(values)


@pytest.fixture
async def world(client: TestClient) -> World:
    user = await client.register("alice")
    room_id = await client.create_room(user, room_alias_name="lobby", name="Lobby")
    event_id = await client.send_text(user, room_id, "hello")
    values = {
        "room_id": room_id,
        "room_id_or_alias": room_id,
        "user_id": user.user_id,
        "event_id": event_id,
        "device_id": user.device_id,
        "room_alias": "#lobby:localhost",
        "event_type": "m.room.message",
        "state_key": "",
        "data_type": "m.direct",
        "receipt_type": "m.read",
        "filter_id": "0",
        "kind": "override",
        "rule_id": "myrule",
        "action": "kick",
        "filename": "oauth.css",
        "path": "index.html",
    }
    return World(user, room_id, event_id, "#lobby:localhost", values)


@dataclass
class Failures:
    found: list[str] = field(default_factory=list)
    requests: int = 0

    def check(self, what: str, route: Route, response: Response) -> None:
        self.requests += 1
        problem = _problem(route.oauth, response)
        if problem:
            self.found.append(f"{what}: {problem}")

    def assert_none(self) -> None:
        assert not self.found, f"{len(self.found)} bad answers:\n" + "\n".join(self.found[:60])


def _problem(oauth: bool, response: Response) -> str | None:
    status = response.status
    if status >= 500:
        return f"{status} {response.body}"
    if status < 400:
        return None
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("text/html") and oauth:
        return None  # a sign-in page explaining the problem
    body = response.body
    if not isinstance(body, dict):
        return f"{status} without a JSON object body ({content_type})"
    if oauth:
        if not isinstance(body.get("error"), str):
            return f"{status} without an OAuth error: {body}"
        return None
    if status == 401 and isinstance(body.get("flows"), list):
        return None  # user-interactive authentication asks for its stages
    if not (isinstance(body.get("errcode"), str) and isinstance(body.get("error"), str)):
        return f"{status} not a Matrix error: {body}"
    return None


def _path_for_test_client(path: str) -> str:
    # The Quart test client takes an already-decoded path; '?' and '#' would
    # start a query or fragment there, so they go percent-encoded as a client
    # would send them.
    return path.replace("%", "%25").replace("?", "%3F").replace("#", "%23")


async def _send(
    client: TestClient,
    method: str,
    path: str,
    *,
    token: str | None,
    raw: bytes | None = None,
    json: Any = None,
    form: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    all_headers = dict(headers or {})
    data = raw
    if json is not None:
        data = stdlib_json.dumps(json).encode()  # (orjson refuses integers above 64 bits)
        all_headers["Content-Type"] = "application/json"
    elif form is not None:
        from urllib.parse import urlencode

        data = urlencode({k: str(v) for k, v in form.items()}).encode()
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif raw is not None:
        all_headers.setdefault("Content-Type", "application/json")
    return await client.request(
        method,
        _path_for_test_client(path),
        data=data,
        token=token,
        query=query,
        headers=all_headers,
        check_contract=False,
    )


def _routes(client: TestClient) -> list[Route]:
    routes = http_routes(client.app)
    assert len(routes) > 80, "the URL map looks empty"
    return routes


async def test_bad_path_parameters_on_every_route(client: TestClient, world: World) -> None:
    failures = Failures()
    started = time.monotonic()
    for route in _routes(client):
        for name in route.params:
            if name in route.choices:
                continue
            for value in BAD_PATH_VALUES:
                if route.rule.endswith(f"<path:{name}>") is False and "/" in value:
                    continue
                path = world.fill(route, **{name: value})
                body = {} if route.method in ("POST", "PUT") else None
                response = await _send(
                    client, route.method, path, token=world.user.access_token, json=body
                )
                failures.check(f"{route} {name}={value[:40]!r}", route, response)
    print(f"\n{failures.requests} requests in {time.monotonic() - started:.1f} s")
    failures.assert_none()


async def test_bad_bodies_on_every_route(client: TestClient, world: World) -> None:
    failures = Failures()
    started = time.monotonic()
    for route in _routes(client):
        if route.method not in ("POST", "PUT", "DELETE"):
            continue
        path = world.fill(route)
        media, fields = body_fields(operation(route.method, path))
        token = world.user.access_token
        if media == "application/x-www-form-urlencoded":
            for name in fields or ["x"]:
                for value in ("\x00", "a\x00b", "x" * 5000, "\ufffd", ""):
                    response = await _send(
                        client, route.method, path, token=token, form={name: value}
                    )
                    failures.check(f"{route} form {name}={value[:20]!r}", route, response)
            continue
        for raw in BAD_RAW_BODIES:
            response = await _send(client, route.method, path, token=token, raw=raw)
            failures.check(f"{route} body {raw[:40]!r}", route, response)
        for name in fields:
            for value in BAD_JSON_VALUES:
                if route.rule.endswith("/send/<event_type>/<txn_id>"):
                    path = world.fill(route, txn_id=f"bad{next(_txn)}")
                response = await _send(client, route.method, path, token=token, json={name: value})
                failures.check(f"{route} {name}={str(value)[:40]}", route, response)
    print(f"\n{failures.requests} requests in {time.monotonic() - started:.1f} s")
    failures.assert_none()


async def test_bad_query_parameters_on_every_route(client: TestClient, world: World) -> None:
    failures = Failures()
    started = time.monotonic()
    for route in _routes(client):
        path = world.fill(route)
        # The parameters the spec documents (or, for a route without any, one
        # it must ignore).
        names = set(query_names(operation(route.method, path))) or {"since"}
        body = {} if route.method in ("POST", "PUT") else None
        for name in sorted(names):
            for value in BAD_QUERY_VALUES:
                response = await _send(
                    client,
                    route.method,
                    path,
                    token=world.user.access_token,
                    json=body,
                    query={name: value},
                )
                failures.check(f"{route} ?{name}={value[:30]!r}", route, response)
    print(f"\n{failures.requests} requests in {time.monotonic() - started:.1f} s")
    failures.assert_none()


async def test_bad_tokens_on_every_route(client: TestClient, world: World) -> None:
    failures = Failures()
    for route in _routes(client):
        path = world.fill(route)
        body = {} if route.method in ("POST", "PUT") else None
        for token in BAD_TOKENS:
            response = await _send(client, route.method, path, token=token, json=body)
            failures.check(f"{route} token {token[:20]!r}", route, response)
            if route.rule.startswith("/_matrix/client/v3") and response.status == 401:
                assert response.body["errcode"] == "M_UNKNOWN_TOKEN", (str(route), response.body)
        form = {"token": "x", "client_id": "x"} if route.oauth and route.method == "POST" else None
        for header in BAD_AUTHORIZATION:
            response = await _send(
                client,
                route.method,
                path,
                token=None,
                json=None if form else body,
                form=form,
                headers={"Authorization": header},
            )
            failures.check(f"{route} Authorization {header!r}", route, response)
    failures.assert_none()


async def test_nul_is_refused_the_same_on_both_databases(client: TestClient, world: World) -> None:
    """The cases that gave 500 on PostgreSQL: the one rule answers 400."""
    token = world.user.access_token
    room = q(world.room_id)
    (
        await client.put(
            f"{V3}/profile/{q(world.user.user_id)}/displayname",
            json={"displayname": "a\x00b"},
            token=token,
        )
    ).error(400, "M_BAD_JSON")
    for action in ("invite", "kick", "ban"):
        (
            await client.post(
                f"{V3}/rooms/{room}/{action}", json={"user_id": "@bob\x00:localhost"}, token=token
            )
        ).error(400, "M_BAD_JSON")
    (
        await client.post(f"{V3}/user_directory/search", json={"search_term": "\x00"}, token=token)
    ).error(400, "M_BAD_JSON")
    response = await client.get(
        f"{V3}/rooms/!a\x00b:localhost/state", token=token, check_contract=False
    )
    response.error(400, "M_INVALID_PARAM")
    # A room that does not exist, with a valid id: still 403 (existence does not leak).
    (await client.get(f"{V3}/rooms/{q('!nope:localhost')}/state", token=token)).error(
        403, "M_FORBIDDEN"
    )
