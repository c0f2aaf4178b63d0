"""The federation listener's endpoints, in process: keys, version, signed
queries, and every way an X-Matrix request can be refused (401 M_UNAUTHORIZED).

The remote server here is a key pair whose public key the database already
holds (as after a fetch); fetching keys over the network is in test_two_servers."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.app import create_federation_app
from federation.client import path_with_query
from federation.key_documents import verify_key_document
from federation.request_auth import authorization_header
from homeserver.app import create_app
from homeserver.config import Config, RateLimit
from homeserver.events import encode_verify_key, generate_signing_key
from homeserver.storage.server_keys import StoredServerKey
from tests.federation.conftest import FederatedServer
from tests.matrix_client import V3, TestClient, q

REMOTE = "remote.example.org"
FAR_FUTURE = 2**52


async def remote_key(server: FederatedServer) -> tuple[str, Ed25519PrivateKey]:
    key_id, key = generate_signing_key()
    stored = StoredServerKey(
        REMOTE, key_id, encode_verify_key(key.public_key()), FAR_FUTURE, None, 0
    )
    await server.federation_app.extensions["homeserver"].storage.server_keys.save([stored], None)
    return key_id, key


async def signed_get(
    server: FederatedServer,
    path: str,
    query: dict[str, str],
    key_id: str,
    key: Ed25519PrivateKey,
    *,
    destination: str = "localhost",
    origin: str = REMOTE,
) -> tuple[int, Any]:
    target = path_with_query(path, query)
    header = authorization_header("GET", target, origin, destination, None, key_id, key)
    response = await server.federation.get(target, headers={"Authorization": header})
    return response.status_code, await response.get_json()


async def test_server_keys_are_self_signed(federated: FederatedServer) -> None:
    response = await federated.federation.get("/_matrix/key/v2/server")
    assert response.status_code == 200
    document = await response.get_json()
    verified = verify_key_document(document, "localhost", 0)
    assert len(verified.keys) == 1 and document["old_verify_keys"] == {}


async def test_notary_answers_for_itself_counter_signed(federated: FederatedServer) -> None:
    response = await federated.federation.get("/_matrix/key/v2/query/localhost")
    (answer,) = (await response.get_json())["server_keys"]
    assert answer["server_name"] == "localhost"
    response = await federated.federation.post(
        "/_matrix/key/v2/query", json={"server_keys": {"localhost": {}}}
    )
    assert [a["server_name"] for a in (await response.get_json())["server_keys"]] == ["localhost"]


async def test_notary_answers_from_its_cache_and_refuses_bad_queries(
    federated: FederatedServer,
) -> None:
    # Unknown and unreachable (loopback is refused by the outbound guard): no keys.
    response = await federated.federation.get("/_matrix/key/v2/query/127.0.0.9:1")
    assert (await response.get_json()) == {"server_keys": []}
    bad = await federated.federation.post("/_matrix/key/v2/query", json={"server_keys": []})
    assert bad.status_code == 400
    bad = await federated.federation.get("/_matrix/key/v2/query/not a name")
    assert bad.status_code == 400


async def test_version(federated: FederatedServer) -> None:
    response = await federated.federation.get("/_matrix/federation/v1/version")
    body = await response.get_json()
    assert response.status_code == 200 and body["server"]["name"] == "homeserver"


async def test_federation_paths_are_not_on_the_client_listener(
    federated: FederatedServer,
) -> None:
    on_client_port = await federated.client.app.test_client().get("/_matrix/federation/v1/version")
    assert on_client_port.status_code == 404
    unknown = await federated.federation.get("/_matrix/client/versions")
    assert unknown.status_code == 404
    assert (await unknown.get_json())["errcode"] == "M_UNRECOGNIZED"


async def test_well_known_server_names_the_federation_port(federated: FederatedServer) -> None:
    body = (await federated.client.get("/.well-known/matrix/server")).ok()
    assert body == {"m.server": "localhost:8448"}


async def test_well_known_server_is_404_with_federation_off(client: TestClient) -> None:
    (await client.get("/.well-known/matrix/server")).error(404, "M_NOT_FOUND")


async def test_profile_query(federated: FederatedServer) -> None:
    alice = await federated.client.register("alice")
    await federated.client.put(
        f"{V3}/profile/{q(alice.user_id)}/displayname",
        json={"displayname": "Alice"},
        token=alice.access_token,
    )
    key_id, key = await remote_key(federated)
    path = "/_matrix/federation/v1/query/profile"
    status, body = await signed_get(federated, path, {"user_id": alice.user_id}, key_id, key)
    assert (status, body) == (200, {"displayname": "Alice"})
    query = {"user_id": alice.user_id, "field": "avatar_url"}
    assert await signed_get(federated, path, query, key_id, key) == (200, {})
    status, body = await signed_get(federated, path, {"user_id": "@nobody:localhost"}, key_id, key)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = await signed_get(federated, path, {"user_id": "@x:elsewhere"}, key_id, key)
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body = await signed_get(federated, path, {}, key_id, key)
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")


async def test_directory_query(federated: FederatedServer) -> None:
    alice = await federated.client.register("alice")
    room_id = await federated.client.create_room(alice)
    alias = "#hangout:localhost"
    await federated.client.put(
        f"{V3}/directory/room/{q(alias)}", json={"room_id": room_id}, token=alice.access_token
    )
    key_id, key = await remote_key(federated)
    path = "/_matrix/federation/v1/query/directory"
    status, body = await signed_get(federated, path, {"room_alias": alias}, key_id, key)
    assert (status, body) == (200, {"room_id": room_id, "servers": ["localhost"]})
    status, body = await signed_get(federated, path, {"room_alias": "#no:localhost"}, key_id, key)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = await signed_get(federated, path, {"room_alias": "#a:elsewhere"}, key_id, key)
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")


async def test_unsigned_badly_signed_and_misaddressed_requests_get_401(
    federated: FederatedServer,
) -> None:
    alice = await federated.client.register("alice")
    key_id, key = await remote_key(federated)
    path = "/_matrix/federation/v1/query/profile"
    query = {"user_id": alice.user_id}
    target = f"{path}?{urlencode(query, quote_via=quote)}"

    async def status_of(headers: dict[str, str]) -> tuple[int, str]:
        response = await federated.federation.get(target, headers=headers)
        return response.status_code, (await response.get_json())["errcode"]

    unauthorized = (401, "M_UNAUTHORIZED")
    assert await status_of({}) == unauthorized
    assert await status_of({"Authorization": "Bearer abc"}) == unauthorized
    # Signed for another target than the one requested.
    other = authorization_header("GET", path, REMOTE, "localhost", None, key_id, key)
    assert await status_of({"Authorization": other}) == unauthorized
    # Signed by a key that is not the origin's.
    _, forger = generate_signing_key()
    forged = authorization_header("GET", target, REMOTE, "localhost", None, key_id, forger)
    assert await status_of({"Authorization": forged}) == unauthorized
    # Addressed to another server.
    misaddressed = authorization_header("GET", target, REMOTE, "other.org", None, key_id, key)
    assert await status_of({"Authorization": misaddressed}) == unauthorized
    # An origin whose keys cannot be had (loopback: refused by the outbound guard).
    stranger = authorization_header("GET", target, "127.0.0.9:1", "localhost", None, key_id, key)
    assert await status_of({"Authorization": stranger}) == unauthorized
    # The correctly signed request passes.
    good = authorization_header("GET", target, REMOTE, "localhost", None, key_id, key)
    response = await federated.federation.get(target, headers={"Authorization": good})
    assert response.status_code == 200


async def test_unsupported_endpoints_and_bad_bodies(federated: FederatedServer) -> None:
    for method, path in (
        ("GET", "/_matrix/federation/v1/no_such_endpoint"),  # not a federation path
        ("POST", "/_matrix/federation/v1/version"),  # a known path, another method
    ):
        response = await federated.federation.open(path, method=method, json={})
        assert response.status_code in (404, 405), path
        assert (await response.get_json())["errcode"] == "M_UNRECOGNIZED"
    response = await federated.federation.post(
        "/_matrix/key/v2/query", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, (await response.get_json())["errcode"]) == (400, "M_NOT_JSON")


async def test_each_origin_is_held_to_its_rate_limit(federation_config: Config) -> None:
    federation_config.rate_limits_enabled = True
    federation_config.rate_limit_federation = RateLimit(0.01, 3)
    app = create_app(federation_config)
    federation_app = create_federation_app(federation_config, app)
    async with app.test_app() as client_app, federation_app.test_app() as fed_app:
        server = FederatedServer(
            TestClient(client_app.test_client(), client_app.app),
            fed_app.test_client(),
            fed_app.app,
        )
        key_id, key = await remote_key(server)
        path = "/_matrix/federation/v1/query/profile"
        query = {"user_id": "@nobody:localhost"}
        for _ in range(3):
            assert (await signed_get(server, path, query, key_id, key))[0] == 404
        status, body = await signed_get(server, path, query, key_id, key)
        assert status == 429
        assert body["errcode"] == "M_LIMIT_EXCEEDED" and body["retry_after_ms"] > 0
        # Another server has a bucket of its own.
        other_id, other = generate_signing_key()
        stored = StoredServerKey(
            "other.example.org",
            other_id,
            encode_verify_key(other.public_key()),
            FAR_FUTURE,
            None,
            0,
        )
        await fed_app.app.extensions["homeserver"].storage.server_keys.save([stored], None)
        answer = await signed_get(server, path, query, other_id, other, origin="other.example.org")
        assert answer[0] == 404
