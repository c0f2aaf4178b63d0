"""The /pushrules API: defaults merged with the user's rules, ordering, enabled
and actions of default and user rules, errors, and m.push_rules in /sync."""

from __future__ import annotations

from typing import Any

from tests.matrix_client import V3, TestClient, User, q

RULES = f"{V3}/pushrules/global"


async def ruleset(client: TestClient, user: User) -> dict[str, Any]:
    return dict((await client.get(f"{V3}/pushrules/", token=user.access_token)).ok()["global"])


def ids(rules: list[dict[str, Any]]) -> list[str]:
    return [rule["rule_id"] for rule in rules]


async def put(client: TestClient, user: User, path: str, body: Any, **query: str) -> Any:
    return await client.put(f"{RULES}/{path}", json=body, token=user.access_token, query=query)


async def test_user_rules_come_first_in_their_kind(client: TestClient) -> None:
    alice = await client.register("alice")
    (await put(client, alice, "content/cake", {"pattern": "cake*", "actions": ["notify"]})).ok()
    (await put(client, alice, "content/pie", {"pattern": "pie", "actions": []})).ok()
    (await put(client, alice, "content/tart", {"pattern": "tart", "actions": []}, after="pie")).ok()
    (
        await put(
            client, alice, "content/scone", {"pattern": "scone", "actions": []}, before="cake"
        )
    ).ok()
    content = (await ruleset(client, alice))["content"]
    assert ids(content) == ["pie", "tart", "scone", "cake", ".m.rule.contains_user_name"]
    assert content[3] == {
        "rule_id": "cake",
        "default": False,
        "enabled": True,
        "pattern": "cake*",
        "actions": ["notify"],
    }
    mute = {
        "conditions": [{"kind": "event_match", "key": "room_id", "pattern": "!r:localhost"}],
        "actions": [],
    }
    (await put(client, alice, "override/!r:localhost", mute)).ok()
    override = ids((await ruleset(client, alice))["override"])
    assert override[:3] == [".m.rule.master", "!r:localhost", ".m.rule.suppress_notices"]
    (await put(client, alice, "room/!r:localhost", {"actions": []})).ok()
    (await put(client, alice, "sender/@spam:localhost", {"actions": []})).ok()
    rules = await ruleset(client, alice)
    assert rules["room"] == [
        {"rule_id": "!r:localhost", "default": False, "enabled": True, "actions": []}
    ]
    assert ids(rules["sender"]) == ["@spam:localhost"]
    global_only = (await client.get(f"{RULES}/", token=alice.access_token)).ok()
    assert global_only == rules


async def test_updating_a_rule_keeps_its_place_and_state(client: TestClient) -> None:
    alice = await client.register("alice")
    for name in ("one", "two"):
        (await put(client, alice, f"content/{name}", {"pattern": name, "actions": []})).ok()
    (await put(client, alice, "content/one/enabled", {"enabled": False})).ok()
    (await put(client, alice, "content/one", {"pattern": "uno", "actions": ["notify"]})).ok()
    rule = (await client.get(f"{RULES}/content/one", token=alice.access_token)).ok()
    assert rule == {
        "rule_id": "one",
        "default": False,
        "enabled": False,
        "pattern": "uno",
        "actions": ["notify"],
    }
    assert ids((await ruleset(client, alice))["content"])[:2] == ["two", "one"]


async def test_enabled_and_actions_of_default_and_user_rules(client: TestClient) -> None:
    alice = await client.register("alice")
    master = f"{RULES}/override/.m.rule.master"
    token = alice.access_token
    assert (await client.get(f"{master}/enabled", token=token)).ok() == {"enabled": False}
    (await client.put(f"{master}/enabled", json={"enabled": True}, token=token)).ok()
    assert (await client.get(f"{master}/enabled", token=token)).ok() == {"enabled": True}
    assert (await client.get(master, token=token)).ok()["enabled"] is True

    message = f"{RULES}/underride/.m.rule.message/actions"
    loud = ["notify", {"set_tweak": "sound", "value": "default"}]
    (await client.put(message, json={"actions": loud}, token=token)).ok()
    assert (await client.get(message, token=token)).ok() == {"actions": loud}
    underride = (await ruleset(client, alice))["underride"]
    assert next(r for r in underride if r["rule_id"] == ".m.rule.message")["actions"] == loud

    (await put(client, alice, "sender/@bob:localhost", {"actions": ["notify"]})).ok()
    bob_rule = f"{RULES}/sender/@bob:localhost"
    (await client.put(f"{bob_rule}/actions", json={"actions": []}, token=token)).ok()
    (await client.put(f"{bob_rule}/enabled", json={"enabled": False}, token=token)).ok()
    assert (await client.get(bob_rule, token=token)).ok() == {
        "rule_id": "@bob:localhost",
        "default": False,
        "enabled": False,
        "actions": [],
    }
    (await client.delete(bob_rule, token=token)).ok()
    (await client.get(bob_rule, token=token)).error(404, "M_NOT_FOUND")


async def test_rules_are_per_user(client: TestClient) -> None:
    alice = await client.register("alice")
    bob = await client.register("bob")
    (await put(client, alice, "content/cake", {"pattern": "cake", "actions": []})).ok()
    assert ids((await ruleset(client, bob))["content"]) == [".m.rule.contains_user_name"]
    (await client.get(f"{RULES}/content/cake", token=bob.access_token)).error(404, "M_NOT_FOUND")
    (await client.delete(f"{RULES}/content/cake", token=bob.access_token)).error(404, "M_NOT_FOUND")


async def test_bad_requests(client: TestClient) -> None:
    alice = await client.register("alice")
    token = alice.access_token
    cases: list[tuple[str, Any, dict[str, str], int, str]] = [
        ("content/.mine", {"pattern": "x", "actions": []}, {}, 400, "M_INVALID_PARAM"),
        ("content/a\\b", {"pattern": "x", "actions": []}, {}, 400, "M_INVALID_PARAM"),
        ("content/x", {"actions": []}, {}, 400, "M_MISSING_PARAM"),
        ("content/x", {"pattern": 5, "actions": []}, {}, 400, "M_BAD_JSON"),
        ("content/x", {"pattern": "x"}, {}, 400, "M_MISSING_PARAM"),
        ("content/x", {"pattern": "x", "actions": "notify"}, {}, 400, "M_BAD_JSON"),
        ("content/x", {"pattern": "x", "actions": ["explode"]}, {}, 400, "M_INVALID_PARAM"),
        ("content/x", {"pattern": "x", "actions": [{"value": 1}]}, {}, 400, "M_INVALID_PARAM"),
        ("override/x", {"conditions": {}, "actions": []}, {}, 400, "M_BAD_JSON"),
        ("override/x", {"conditions": [{"key": "a"}], "actions": []}, {}, 400, "M_BAD_JSON"),
        (
            "override/x",
            {"conditions": [{"kind": "event_match", "key": "type"}], "actions": []},
            {},
            400,
            "M_BAD_JSON",
        ),
        ("nonsense/x", {"actions": []}, {}, 400, "M_INVALID_PARAM"),
        ("content/x", {"pattern": "x", "actions": []}, {"before": "nope"}, 400, "M_UNKNOWN"),
        (
            "content/x",
            {"pattern": "x", "actions": []},
            {"after": ".m.rule.contains_user_name"},
            400,
            "M_INVALID_PARAM",
        ),
    ]
    for path, body, query, status, errcode in cases:
        response = await put(client, alice, path, body, **query)
        response.error(status, errcode)
    response = await client.put(f"{RULES}/content/x", data=b"{not json", token=token)
    response.error(400, "M_NOT_JSON")
    contains = f"{RULES}/content/.m.rule.contains_user_name"
    (await client.delete(contains, token=token)).error(400, "M_INVALID_PARAM")
    (await client.get(f"{RULES}/content/missing", token=token)).error(404, "M_NOT_FOUND")
    (await client.get(f"{RULES}/bogus/x/enabled", token=token)).error(400, "M_INVALID_PARAM")
    missing = f"{RULES}/override/missing"
    (await client.put(f"{missing}/enabled", json={"enabled": True}, token=token)).error(
        404, "M_NOT_FOUND"
    )
    (await client.put(f"{missing}/actions", json={"actions": []}, token=token)).error(
        404, "M_NOT_FOUND"
    )
    master = f"{RULES}/override/.m.rule.master"
    (await client.put(f"{master}/enabled", json={"enabled": "yes"}, token=token)).error(
        400, "M_BAD_JSON"
    )
    (await client.put(f"{master}/enabled", json={}, token=token)).error(400, "M_MISSING_PARAM")
    (await client.put(f"{master}/actions", json={}, token=token)).error(400, "M_MISSING_PARAM")
    (await client.put(f"{master}/actions", json={"actions": [1]}, token=token)).error(
        400, "M_INVALID_PARAM"
    )
    # Nothing above changed anything.
    assert (await ruleset(client, alice))["content"][0]["rule_id"] == ".m.rule.contains_user_name"


async def test_authentication_is_required(client: TestClient) -> None:
    for method, path in [
        ("GET", f"{V3}/pushrules/"),
        ("GET", f"{RULES}/"),
        ("GET", f"{RULES}/override/.m.rule.master"),
        ("PUT", f"{RULES}/content/x"),
        ("DELETE", f"{RULES}/content/x"),
        ("GET", f"{RULES}/override/.m.rule.master/enabled"),
        ("PUT", f"{RULES}/override/.m.rule.master/enabled"),
        ("GET", f"{RULES}/override/.m.rule.master/actions"),
        ("PUT", f"{RULES}/override/.m.rule.master/actions"),
    ]:
        body = {"actions": []} if method == "PUT" else None
        (await client.request(method, path, json=body)).error(401, "M_MISSING_TOKEN")


async def test_changes_reach_sync_as_push_rules_account_data(client: TestClient) -> None:
    alice = await client.register("alice")
    since = (await client.sync(alice))["next_batch"]
    (await put(client, alice, "content/cake", {"pattern": "cake", "actions": ["notify"]})).ok()
    sync = await client.sync(alice, since=since, timeout=5000)
    [data] = [e for e in sync["account_data"]["events"] if e["type"] == "m.push_rules"]
    assert data["content"] == {"global": await ruleset(client, alice)}
    assert ids(data["content"]["global"]["content"])[0] == "cake"
    # It stays in a fresh sync, and clients cannot overwrite it.
    initial = await client.sync(alice)
    assert "m.push_rules" in [e["type"] for e in initial["account_data"]["events"]]
    url = f"{V3}/user/{q(alice.user_id)}/account_data/m.push_rules"
    (await client.put(url, json={"global": {}}, token=alice.access_token)).error(405, "M_BAD_JSON")
    assert (await client.get(url, token=alice.access_token)).ok() == data["content"]


async def test_errors_leave_no_account_data_behind(client: TestClient) -> None:
    alice = await client.register("alice")
    (await put(client, alice, "content/x", {"pattern": "x", "actions": []}, before="y")).error(
        400, "M_UNKNOWN"
    )
    stored = f"{V3}/user/{q(alice.user_id)}/account_data/m.push_rules"
    (await client.get(stored, token=alice.access_token)).error(404, "M_NOT_FOUND")
    # Initial sync still tells clients the (default) rules, without the failed rule.
    sync = await client.sync(alice)
    rules = [e for e in sync["account_data"]["events"] if e["type"] == "m.push_rules"]
    assert [r["rule_id"] for r in rules[0]["content"]["global"]["content"]] == [
        ".m.rule.contains_user_name"
    ]


# The spec's predefined rules (client-server API, "Predefined Rules", v1.11),
# in its order; the three deprecated ones that look at `body` stay while
# clients without intentional mentions are common.
SPEC_DEFAULTS = {
    "override": [
        ".m.rule.master",
        ".m.rule.suppress_notices",
        ".m.rule.invite_for_me",
        ".m.rule.member_event",
        ".m.rule.is_user_mention",
        ".m.rule.contains_display_name",
        ".m.rule.is_room_mention",
        ".m.rule.roomnotif",
        ".m.rule.tombstone",
        ".m.rule.reaction",
        ".m.rule.room.server_acl",
        ".m.rule.suppress_edits",
    ],
    "content": [".m.rule.contains_user_name"],
    "room": [],
    "sender": [],
    "underride": [
        ".m.rule.call",
        ".m.rule.encrypted_room_one_to_one",
        ".m.rule.room_one_to_one",
        ".m.rule.message",
        ".m.rule.encrypted",
    ],
}


async def test_the_default_rules_are_the_specs_in_its_order(client: TestClient) -> None:
    alice = await client.register("alice")
    rules = await ruleset(client, alice)
    assert {kind: ids(rules[kind]) for kind in SPEC_DEFAULTS} == SPEC_DEFAULTS
    for kind in SPEC_DEFAULTS:
        assert all(rule["default"] for rule in rules[kind])
    acl = next(r for r in rules["override"] if r["rule_id"] == ".m.rule.room.server_acl")
    assert acl["conditions"] == [
        {"kind": "event_match", "key": "type", "pattern": "m.room.server_acl"},
        {"kind": "event_match", "key": "state_key", "pattern": ""},
    ]
    assert acl["actions"] == [] and acl["enabled"]
    # Default rules are addressed by their spec id.
    path = f"{RULES}/override/.m.rule.room.server_acl/enabled"
    (await client.put(path, json={"enabled": False}, token=alice.access_token)).ok()
    assert (await client.get(path, token=alice.access_token)).ok() == {"enabled": False}
