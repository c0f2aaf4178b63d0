"""Discovery and the start-up calls every client makes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from homeserver.app import create_app
from homeserver.config import Config
from tests.matrix_client import V3, TestClient

CLIENT = "/_matrix/client"


@contextlib.asynccontextmanager
async def client_for(config: Config) -> AsyncIterator[TestClient]:
    app = create_app(config)
    async with app.test_app() as test_app:
        yield TestClient(test_app.test_client(), test_app.app)


async def test_versions_lists_stable_versions_without_auth(client: TestClient) -> None:
    body = (await client.get(f"{CLIENT}/versions")).ok()
    assert {"v1.1", "v1.2", "v1.3"} <= set(body["versions"])
    assert all(v.startswith("v1.") for v in body["versions"])
    assert isinstance(body.get("unstable_features", {}), dict)


async def test_versions_accepts_a_token(client: TestClient) -> None:
    alice = await client.register("alice")
    body = (await client.get(f"{CLIENT}/versions", token=alice.access_token)).ok()
    assert "v1.1" in body["versions"]


async def test_well_known_points_at_the_base_url(client: TestClient) -> None:
    body = (await client.get("/.well-known/matrix/client")).ok()
    assert body["m.homeserver"]["base_url"] == client.app.extensions["homeserver"].config.base_url


async def test_capabilities(client: TestClient) -> None:
    alice = await client.register("alice")
    caps = (await client.get(f"{V3}/capabilities", token=alice.access_token)).ok()["capabilities"]
    assert caps["m.change_password"] == {"enabled": True}
    versions = caps["m.room_versions"]
    assert versions == {"default": "12", "available": {"11": "stable", "12": "stable"}}


async def test_capabilities_requires_auth(client: TestClient) -> None:
    (await client.get(f"{V3}/capabilities")).error(401, "M_MISSING_TOKEN")


async def test_auth_metadata_is_served(client: TestClient) -> None:
    # The public base URL is loopback http here, which OAuth accepts (development).
    metadata = (await client.get(f"{CLIENT}/v1/auth_metadata")).ok()
    assert metadata["issuer"] == "http://localhost:8008"
    assert metadata["code_challenge_methods_supported"] == ["S256"]


async def test_auth_metadata_is_unrecognized_without_oauth(config: Config) -> None:
    config.enable_oauth = False
    async with client_for(config) as client:
        (await client.get(f"{CLIENT}/v1/auth_metadata")).error(404, "M_UNRECOGNIZED")
    # Nor is OAuth offered over plain http on a public host.
    config.enable_oauth = True
    config.public_baseurl = "http://chat.example.org"
    async with client_for(config) as client:
        (await client.get(f"{CLIENT}/v1/auth_metadata")).error(404, "M_UNRECOGNIZED")


async def test_openapi_document_is_served(client: TestClient) -> None:
    response = await client.get(f"{CLIENT}/openapi.json")
    doc = response.ok()
    assert doc["openapi"].startswith("3.1.")
    assert f"{V3}/login" in doc["paths"]
    assert "/_matrix/client/versions" in doc["paths"]


async def test_turn_server_empty_configuration(client: TestClient) -> None:
    alice = await client.register("alice")
    body = (await client.get(f"{V3}/voip/turnServer", token=alice.access_token)).ok()
    assert body["uris"] == []
    assert isinstance(body["ttl"], int)
    (await client.get(f"{V3}/voip/turnServer")).error(401, "M_MISSING_TOKEN")


async def test_thirdparty_protocols_empty(client: TestClient) -> None:
    alice = await client.register("alice")
    assert (await client.get(f"{V3}/thirdparty/protocols", token=alice.access_token)).ok() == {}
    (await client.get(f"{V3}/thirdparty/protocols")).error(401, "M_MISSING_TOKEN")


async def test_account_3pid_empty(client: TestClient) -> None:
    alice = await client.register("alice")
    body = (await client.get(f"{V3}/account/3pid", token=alice.access_token)).ok()
    assert body == {"threepids": []}
    (await client.get(f"{V3}/account/3pid")).error(401, "M_MISSING_TOKEN")


def _rule_ids(ruleset: dict[str, list[dict[str, object]]], kind: str) -> list[object]:
    return [rule["rule_id"] for rule in ruleset[kind]]


async def test_push_rules_defaults(client: TestClient) -> None:
    alice = await client.register("alice")
    body = (await client.get(f"{V3}/pushrules/", token=alice.access_token)).ok()
    ruleset = body["global"]
    override = _rule_ids(ruleset, "override")
    assert override[0] == ".m.rule.master"
    assert ".m.rule.contains_display_name" in override
    underride = _rule_ids(ruleset, "underride")
    assert ".m.rule.room_one_to_one" in underride
    assert ".m.rule.message" in underride
    master = ruleset["override"][0]
    assert master["enabled"] is False and master["default"] is True
    content = {rule["rule_id"]: rule for rule in ruleset["content"]}
    assert content[".m.rule.contains_user_name"]["pattern"] == "alice"
    # The global scope alone is the same rule set.
    global_only = (await client.get(f"{V3}/pushrules/global/", token=alice.access_token)).ok()
    assert global_only == ruleset


async def test_push_rules_are_per_user(client: TestClient) -> None:
    bob = await client.register("bob")
    ruleset = (await client.get(f"{V3}/pushrules/", token=bob.access_token)).ok()["global"]
    content = {rule["rule_id"]: rule for rule in ruleset["content"]}
    assert content[".m.rule.contains_user_name"]["pattern"] == "bob"
    invite = next(r for r in ruleset["override"] if r["rule_id"] == ".m.rule.invite_for_me")
    assert {"kind": "event_match", "key": "state_key", "pattern": bob.user_id} in invite[
        "conditions"
    ]


async def test_push_rules_require_auth(client: TestClient) -> None:
    (await client.get(f"{V3}/pushrules/")).error(401, "M_MISSING_TOKEN")
    (await client.get(f"{V3}/pushrules/", token="nonsense")).error(401, "M_UNKNOWN_TOKEN")
