"""Generic error handling: CORS, unknown endpoints, bodies, tokens, request ids."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from homeserver.app import create_app
from homeserver.config import Config
from homeserver.push import user_rules
from tests.matrix_client import V3, Response, TestClient, q


def header(response: Response, name: str) -> str:
    """A response header, looked up case-insensitively ("" when absent)."""
    wanted = name.lower()
    return next((v for k, v in response.headers.items() if k.lower() == wanted), "")


@asynccontextmanager
async def client_for(config: Config) -> AsyncIterator[TestClient]:
    app = create_app(config)
    async with app.test_app() as test_app:
        yield TestClient(test_app.test_client(), test_app.app)


# -- CORS -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/_matrix/client/versions",
        f"{V3}/login",
        f"{V3}/sync",
        f"{V3}/rooms/{q('!abc:localhost')}/send/m.room.message/t1",
        f"{V3}/this/endpoint/does/not/exist",
        "/.well-known/matrix/client",
    ],
)
async def test_options_preflight(client: TestClient, path: str) -> None:
    response = await client.request(
        "OPTIONS",
        path,
        headers={
            "Origin": "https://app.example.org",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status == 204
    assert header(response, "Access-Control-Allow-Origin") == "*"
    methods = {m.strip() for m in header(response, "Access-Control-Allow-Methods").split(",")}
    assert {"GET", "POST", "PUT", "DELETE", "OPTIONS"} <= methods
    allowed = header(response, "Access-Control-Allow-Headers").lower()
    assert "authorization" in allowed and "content-type" in allowed


async def test_cors_headers_on_ordinary_and_error_responses(client: TestClient) -> None:
    ok = await client.get("/_matrix/client/versions")
    assert ok.status == 200
    assert header(ok, "Access-Control-Allow-Origin") == "*"
    error = await client.get(f"{V3}/account/whoami")
    error.error(401, "M_MISSING_TOKEN")
    assert header(error, "Access-Control-Allow-Origin") == "*"


# -- unknown endpoints and methods -------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
async def test_unknown_endpoint_is_unrecognized(client: TestClient, method: str) -> None:
    response = await client.request(
        method,
        f"{V3}/no_such_endpoint",
        json={} if method in ("POST", "PUT") else None,
        check_contract=False,
    )
    response.error(404, "M_UNRECOGNIZED")


async def test_unknown_endpoint_with_token_is_unrecognized(client: TestClient) -> None:
    alice = await client.register("alice")
    response = await client.get(
        "/_matrix/client/v3/rooms", token=alice.access_token, check_contract=False
    )
    response.error(404, "M_UNRECOGNIZED")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", f"{V3}/account/whoami"),
        ("GET", f"{V3}/logout"),
        ("PUT", f"{V3}/login"),
        ("POST", "/_matrix/client/versions"),
    ],
)
async def test_wrong_method_is_405_unrecognized(client: TestClient, method: str, path: str) -> None:
    response = await client.request(
        method, path, json={} if method in ("POST", "PUT") else None, check_contract=False
    )
    response.error(405, "M_UNRECOGNIZED")


# -- request bodies ---------------------------------------------------------------


async def test_body_too_large(config: Config) -> None:
    config.max_request_body_bytes = 2048
    async with client_for(config) as small:
        big = {"type": "m.login.password", "user": "alice", "password": "x" * 4096}
        (await small.post(f"{V3}/login", json=big)).error(413, "M_TOO_LARGE")
        # Under the limit the request is processed normally (wrong password).
        await small.register("alice")
        fine = {"type": "m.login.password", "user": "alice", "password": "x" * 100}
        (await small.post(f"{V3}/login", json=fine)).error(403, "M_FORBIDDEN")


async def test_body_too_large_on_authenticated_endpoint(config: Config) -> None:
    config.max_request_body_bytes = 2048
    async with client_for(config) as small:
        alice = await small.register("alice")
        response = await small.put(
            f"{V3}/user/{q(alice.user_id)}/account_data/org.example.big",
            json={"blob": "y" * 5000},
            token=alice.access_token,
        )
        response.error(413, "M_TOO_LARGE")


async def test_non_json_body(client: TestClient) -> None:
    response = await client.post(
        f"{V3}/login", data=b"this is {not json", headers={"Content-Type": "application/json"}
    )
    response.error(400, "M_NOT_JSON")


async def test_empty_body_where_one_is_required(client: TestClient) -> None:
    (await client.post(f"{V3}/login", data=b"")).error(400, "M_NOT_JSON")


@pytest.mark.parametrize("body", [[1, 2, 3], "a string", 42, None])
async def test_json_that_is_not_an_object(client: TestClient, body: Any) -> None:
    response = await client.post(
        f"{V3}/login", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    response.error(400, "M_BAD_JSON")


# -- access tokens ----------------------------------------------------------------


async def test_missing_token(client: TestClient) -> None:
    (await client.get(f"{V3}/account/whoami")).error(401, "M_MISSING_TOKEN")


async def test_non_bearer_authorization_header(client: TestClient) -> None:
    response = await client.get(
        f"{V3}/account/whoami", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"}
    )
    response.error(401, "M_MISSING_TOKEN")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
async def test_garbage_token(client: TestClient, token: str) -> None:
    body = (await client.get(f"{V3}/account/whoami", token=token)).error(401, "M_UNKNOWN_TOKEN")
    assert body.get("soft_logout", False) is False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def test_tampered_token(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    header, payload, signature = alice.access_token.split(".")
    claims = json.loads(_unb64(payload))
    claims["sub"] = bob.user_id
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    (await client.get(f"{V3}/account/whoami", token=forged)).error(401, "M_UNKNOWN_TOKEN")
    # A flipped signature byte is rejected as well.
    sig = bytearray(_unb64(signature))
    sig[0] ^= 0x01
    flipped = ".".join([header, payload, _b64(bytes(sig))])
    (await client.get(f"{V3}/account/whoami", token=flipped)).error(401, "M_UNKNOWN_TOKEN")
    # The real token still works.
    me = (await client.get(f"{V3}/account/whoami", token=alice.access_token)).ok()
    assert me["user_id"] == alice.user_id


async def test_token_signed_by_another_key(client: TestClient) -> None:
    alice = await client.register("alice")
    key = ECKey.import_key(_server_key_pem(client))
    decoded = jwt.decode(alice.access_token, key)
    other = ECKey.generate_key("P-256")
    forged = jwt.encode(dict(decoded.header), dict(decoded.claims), other)
    (await client.get(f"{V3}/account/whoami", token=forged)).error(401, "M_UNKNOWN_TOKEN")


def _server_key_pem(client: TestClient) -> bytes:
    config: Config = client.app.extensions["homeserver"].config
    return (config.data_dir / "token_signing.pem").read_bytes()


async def test_expired_token(client: TestClient) -> None:
    alice = await client.register("alice")
    key = ECKey.import_key(_server_key_pem(client))
    decoded = jwt.decode(alice.access_token, key)
    header = dict(decoded.header)
    claims = dict(decoded.claims)
    # Re-signing the same claims with the server key gives a working token...
    resigned = jwt.encode(header, claims, key)
    assert (await client.get(f"{V3}/account/whoami", token=resigned)).ok()["user_id"] == (
        alice.user_id
    )
    # ...so with only `exp` in the past, the expiry is what rejects it.
    now = int(time.time())
    expired = jwt.encode(header, {**claims, "iat": now - 7200, "exp": now - 3600}, key)
    (await client.get(f"{V3}/account/whoami", token=expired)).error(401, "M_UNKNOWN_TOKEN")


async def test_short_lived_session_expires(config: Config) -> None:
    config.access_token_lifetime_seconds = 0
    async with client_for(config) as short:
        alice = await short.register("alice")
        (await short.get(f"{V3}/account/whoami", token=alice.access_token)).error(
            401, "M_UNKNOWN_TOKEN"
        )


async def test_access_token_query_parameter(client: TestClient) -> None:
    alice = await client.register("alice")
    me = (await client.get(f"{V3}/account/whoami", query={"access_token": alice.access_token})).ok()
    assert me["user_id"] == alice.user_id
    (await client.get(f"{V3}/account/whoami", query={"access_token": "nope"})).error(
        401, "M_UNKNOWN_TOKEN"
    )


# -- request ids and unexpected errors ------------------------------------------------


async def test_responses_carry_a_request_id(client: TestClient) -> None:
    first = await client.get("/_matrix/client/versions")
    second = await client.get(f"{V3}/account/whoami")
    ids = [header(first, "X-Request-Id"), header(second, "X-Request-Id")]
    assert all(len(i) >= 8 for i in ids), ids
    assert ids[0] != ids[1]


async def test_unexpected_exception_is_500_unknown_with_request_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await client.register("alice")

    def explode(user_id: str) -> dict[str, Any]:
        raise RuntimeError("boom: secret internals")

    monkeypatch.setattr(user_rules, "default_push_rules", explode)
    response = await client.get(f"{V3}/pushrules/", token=alice.access_token)
    body = response.error(500, "M_UNKNOWN")
    request_id = header(response, "X-Request-Id")
    assert request_id and request_id in body["error"]
    assert "secret internals" not in body["error"]
    assert header(response, "Access-Control-Allow-Origin") == "*"
    # The server keeps working.
    (await client.get("/_matrix/client/versions")).ok()
