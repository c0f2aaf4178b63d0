"""Tests for the OpenAPI contract (spec/openapi.yaml) and its checker (tests/contract.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator

try:
    from tests.contract import (
        ContractError,
        check_response,
        load_spec,
        match_path,
        resolve_pointer,
        validator_for_pointer,
    )
except ImportError:  # tests/ itself is on sys.path (no tests/__init__.py)
    from contract import (  # type: ignore[no-redef]
        ContractError,
        check_response,
        load_spec,
        match_path,
        resolve_pointer,
        validator_for_pointer,
    )

JSON = "application/json"
V3 = "/_matrix/client/v3"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# --------------------------------------------------------------------- helpers


def _walk(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    yield pointer, node
    if isinstance(node, dict):
        for key, value in node.items():
            token = str(key).replace("~", "~0").replace("/", "~1")
            yield from _walk(value, f"{pointer}/{token}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{i}")


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = resolve_pointer(node["$ref"])
    return node


def _operations() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    for template, item in load_spec()["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield template, method, op, item


def _ptr(*tokens: str) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _event(**extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "$ev1:example.org",
        "type": "m.room.message",
        "sender": "@alice:example.org",
        "origin_server_ts": 1_700_000_000_000,
        "content": {"msgtype": "m.text", "body": "hi"},
        "unsigned": {"age": 5},
    }
    event.update(extra)
    return event


# ------------------------------------------------------- document structure


def test_document_basics() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1.")
    assert spec["info"]["title"] == "Homeserver client API"
    assert spec["info"]["version"] == "0.1.0"
    assert spec["info"]["description"].strip()
    scheme = spec["components"]["securitySchemes"]["accessToken"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    # The document is served as JSON: it must survive a JSON round trip
    # unchanged (string keys only, no YAML-only types such as dates).
    assert json.loads(json.dumps(spec)) == spec
    for pointer, node in _walk(spec):
        if isinstance(node, dict):
            assert all(isinstance(k, str) for k in node), pointer


def test_every_ref_is_local_and_resolves() -> None:
    refs = 0
    for pointer, node in _walk(load_spec()):
        if isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            assert isinstance(ref, str) and ref.startswith("#/"), f"{pointer}: {ref!r}"
            try:
                resolve_pointer(ref)
            except (KeyError, IndexError, ValueError):
                pytest.fail(f"{pointer}: $ref {ref} does not resolve")
            refs += 1
    assert refs > 50


# Frame schemas of the WebSocket stream are used by its tests, not by HTTP operations.
STREAM_FRAME_SCHEMAS = {"StreamClientFrame", "StreamServerFrame"}


def test_every_component_is_used() -> None:
    spec = load_spec()
    text = json.dumps(spec)
    for kind in ("schemas", "responses", "parameters"):
        for name in spec["components"][kind]:
            if kind == "schemas" and name in STREAM_FRAME_SCHEMAS:
                continue
            assert f'"#/components/{kind}/{name}"' in text, f"unused component {kind}/{name}"


def test_operations_are_well_formed() -> None:
    spec = load_spec()
    schemes = set(spec["components"]["securitySchemes"])
    operation_ids: set[str] = set()
    for template, method, op, _item in _operations():
        where = f"{method.upper()} {template}"
        assert template.startswith("/"), where
        assert op.get("summary"), f"{where}: no summary"
        op_id = op.get("operationId")
        assert op_id and op_id not in operation_ids, f"{where}: missing/duplicate operationId"
        operation_ids.add(op_id)
        responses = op.get("responses")
        assert responses, f"{where}: no responses"
        if op_id == "syncStream":  # a WebSocket upgrade
            assert "101" in responses, f"{where}: no 101"
        else:  # (a form post that always redirects has a 3xx instead)
            assert any(code.startswith(("2", "3")) for code in responses), f"{where}: no 2xx"
        assert "500" in responses, f"{where}: 500 not documented"
        for code, response in responses.items():
            assert re.fullmatch(r"[1-5]\d\d|[1-5]XX|default", code), f"{where}: {code}"
            response = _deref(response)
            assert response.get("description"), f"{where} {code}: no description"
            for media in (response.get("content") or {}).values():
                assert "schema" in media, f"{where} {code}: content without schema"
        security = op.get("security")
        assert isinstance(security, list) and security, f"{where}: security not explicit"
        for requirement in security:
            assert set(requirement) <= schemes, f"{where}: unknown security scheme"
        if any("accessToken" in requirement for requirement in security):
            assert "401" in responses, f"{where}: authenticated but no 401"
        if "requestBody" in op:
            assert {"400", "413"} <= set(responses), f"{where}: body but no 400/413"
        if any(_deref(p)["in"] == "query" for p in op.get("parameters", [])):
            assert "400" in responses, f"{where}: query parameters but no 400"


def test_path_parameters_are_declared() -> None:
    for template, method, op, item in _operations():
        in_template = set(re.findall(r"{([^}/]+)}", template))
        declared: dict[str, dict[str, Any]] = {}
        for param in [*item.get("parameters", []), *op.get("parameters", [])]:
            param = _deref(param)
            assert {"name", "in"} <= set(param), f"{template}: bad parameter {param}"
            assert "schema" in param, f"{template}: parameter {param['name']} has no schema"
            if param["in"] == "path":
                declared[param["name"]] = param
        where = f"{method.upper()} {template}"
        assert set(declared) == in_template, f"{where}: {sorted(declared)} != {sorted(in_template)}"
        for name, param in declared.items():
            assert param.get("required") is True, f"{where}: path parameter {name} not required"
        # Writes to the caller's own resources (identified by userId only) are
        # 403 for other users, never 404; everything else with IDs can 404.
        if in_template and op["operationId"] not in {"defineFilter", "setAccountData"}:
            assert "404" in op["responses"], f"{where}: has path parameters but no 404"


def _all_schema_pointers() -> Iterator[str]:
    spec = load_spec()
    for name in spec["components"]["schemas"]:
        yield _ptr("components", "schemas", name)
    for pointer, node in _walk(spec):
        if pointer.startswith("/components/schemas"):
            continue
        if isinstance(node, dict) and "schema" in node and isinstance(node["schema"], dict):
            yield pointer + "/schema"


def test_schemas_are_valid_draft_2020_12() -> None:
    pointers = list(_all_schema_pointers())
    assert len(pointers) > 100
    for pointer in pointers:
        schema = resolve_pointer(pointer)
        Draft202012Validator.check_schema(schema)
        # Compiling and running the validator also exercises its $refs.
        validator_for_pointer(pointer).is_valid({})


def test_examples_match_their_schemas() -> None:
    checked = 0
    for pointer, node in _walk(load_spec()):
        if isinstance(node, dict) and "example" in node and "schema" in node:
            validator = validator_for_pointer(pointer + "/schema")
            errors = [e.message for e in validator.iter_errors(node["example"])]
            assert not errors, f"{pointer}: example does not match schema: {errors}"
            checked += 1
    assert checked >= 20


def test_generic_error_responses_exist() -> None:
    responses = load_spec()["components"]["responses"]
    for name in (
        "BadRequest",
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "TooLarge",
        "RateLimited",
        "ServerError",
    ):
        assert name in responses
    error = load_spec()["components"]["schemas"]["Error"]
    assert error["required"] == ["errcode"]
    assert {"errcode", "error", "retry_after_ms"} <= set(error["properties"])


# ------------------------------------------------------- check_response: bodies


def _ok(method: str, path: str, status: int, body: Any) -> None:
    check_response(method, path, status, body, JSON)


def _bad(method: str, path: str, status: int, body: Any, match: str | None = None) -> None:
    with pytest.raises(ContractError, match=match):
        check_response(method, path, status, body, JSON)


def test_versions() -> None:
    path = "/_matrix/client/versions"
    _ok("GET", path, 200, {"versions": ["v1.1", "v1.2"], "unstable_features": {"x.y": True}})
    _bad("GET", path, 200, {"unstable_features": {}}, match="'versions' is a required property")
    _bad("GET", path, 200, {"versions": "v1.1"})
    _bad("GET", path, 200, {"versions": ["v1.1"], "unstable_features": {"x.y": "yes"}})


def test_login() -> None:
    path = f"{V3}/login"
    _ok("GET", path, 200, {"flows": [{"type": "m.login.password"}]})
    _bad("GET", path, 200, {"flows": [{"stages": ["m.login.password"]}]})
    good = {"user_id": "@alice:example.org", "access_token": "tok", "device_id": "DEV"}
    _ok("POST", path, 200, good)
    _ok("POST", path, 200, {**good, "expires_in_ms": 60000, "refresh_token": "r"})
    _bad("POST", path, 200, {"user_id": "@alice:example.org", "access_token": "tok"})
    _bad("POST", path, 200, {**good, "user_id": "alice"}, match="does not match '\\^@")
    _ok("POST", path, 403, {"errcode": "M_FORBIDDEN", "error": "Invalid password"})
    _bad("POST", path, 403, {"error": "Invalid password"})


def test_register() -> None:
    path = f"{V3}/register"
    uia = {
        "flows": [{"stages": ["m.login.dummy"]}],
        "params": {},
        "session": "abc",
    }
    _ok("POST", path, 401, uia)
    _ok("POST", path, 401, {**uia, "completed": [], "errcode": "M_FORBIDDEN", "error": "x"})
    _bad("POST", path, 401, {"errcode": "M_MISSING_TOKEN"})
    _bad("POST", path, 401, {"flows": [{"type": "m.login.dummy"}]})
    _ok("POST", path, 200, {"user_id": "@a:example.org", "access_token": "t", "device_id": "D"})
    _ok("POST", path, 200, {"user_id": "@a:example.org"})  # inhibit_login
    _bad("POST", path, 200, {"access_token": "t", "device_id": "D"})
    _ok("POST", path, 400, {"errcode": "M_USER_IN_USE", "error": "taken"})
    _ok("POST", path, 403, {"errcode": "M_FORBIDDEN", "error": "Registration is disabled"})


def test_uia_or_token_error_for_password_change() -> None:
    path = f"{V3}/account/password"
    _ok("POST", path, 401, {"flows": [{"stages": ["m.login.password"]}], "session": "s"})
    _ok("POST", path, 401, {"errcode": "M_MISSING_TOKEN", "error": "Missing token"})
    _bad("POST", path, 401, {"session": "s"})


def test_sync() -> None:
    path = f"{V3}/sync"
    body: dict[str, Any] = {
        "next_batch": "s12_3",
        "account_data": {"events": [{"type": "m.direct", "content": {}}]},
        "presence": {"events": []},
        "rooms": {
            "join": {
                "!room:example.org": {
                    "summary": {"m.joined_member_count": 2, "m.heroes": ["@bob:example.org"]},
                    "state": {"events": [_event(type="m.room.name", state_key="")]},
                    "timeline": {"events": [_event()], "limited": True, "prev_batch": "t1"},
                    "ephemeral": {"events": [{"type": "m.typing", "content": {"user_ids": []}}]},
                    "account_data": {"events": []},
                    "unread_notifications": {"highlight_count": 0, "notification_count": 1},
                }
            },
            "invite": {
                "!other:example.org": {
                    "invite_state": {
                        "events": [
                            {
                                "type": "m.room.member",
                                "state_key": "@alice:example.org",
                                "sender": "@bob:example.org",
                                "content": {"membership": "invite"},
                            }
                        ]
                    }
                }
            },
            "leave": {},
        },
    }
    _ok("GET", path, 200, body)
    _ok("GET", path, 200, {"next_batch": "s0_0"})
    _bad("GET", path, 200, {"rooms": {}}, match="next_batch")
    _bad("GET", path, 200, {"next_batch": 12})
    bad_room_key = json.loads(json.dumps(body))
    bad_room_key["rooms"]["join"]["room-without-bang"] = {}
    _bad("GET", path, 200, bad_room_key)
    no_timeline_events = json.loads(json.dumps(body))
    no_timeline_events["rooms"]["join"]["!room:example.org"]["timeline"] = {"limited": False}
    _bad("GET", path, 200, no_timeline_events, match="'events' is a required property")
    bad_event = json.loads(json.dumps(body))
    del bad_event["rooms"]["join"]["!room:example.org"]["timeline"]["events"][0]["sender"]
    _bad("GET", path, 200, bad_event, match="sender")
    bad_stripped = json.loads(json.dumps(body))
    del bad_stripped["rooms"]["invite"]["!other:example.org"]["invite_state"]["events"][0][
        "state_key"
    ]
    _bad("GET", path, 200, bad_stripped)


def test_create_room() -> None:
    path = f"{V3}/createRoom"
    _ok("POST", path, 200, {"room_id": "!new:example.org"})
    _bad("POST", path, 200, {"room_id": "new:example.org"})
    _bad("POST", path, 200, {})
    _ok("POST", path, 400, {"errcode": "M_ROOM_IN_USE", "error": "Alias taken"})


def test_error_bodies() -> None:
    whoami = f"{V3}/account/whoami"
    _ok("GET", whoami, 401, {"errcode": "M_MISSING_TOKEN", "error": "Missing access token"})
    _ok("GET", whoami, 401, {"errcode": "M_UNKNOWN_TOKEN", "error": "x", "soft_logout": False})
    _bad("GET", whoami, 401, {"error": "no errcode"}, match="errcode")
    _bad("GET", whoami, 401, {"errcode": 401})
    _bad("GET", whoami, 401, ["M_MISSING_TOKEN"])
    _ok("GET", whoami, 429, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1500})
    _bad("GET", whoami, 429, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": "soon"})
    _ok("GET", whoami, 500, {"errcode": "M_UNKNOWN", "error": "boom"})
    meta = "/_matrix/client/v1/auth_metadata"
    _ok("GET", meta, 404, {"errcode": "M_UNRECOGNIZED", "error": "OAuth is not supported"})
    _bad("GET", meta, 404, {"errcode": "M_NOT_FOUND"})
    _bad("GET", meta, 200, {"issuer": "https://example.org/"}, match="required property")
    metadata = {
        "issuer": "https://example.org",
        "authorization_endpoint": "https://example.org/oauth2/authorize",
        "token_endpoint": "https://example.org/oauth2/token",
        "revocation_endpoint": "https://example.org/oauth2/revoke",
        "registration_endpoint": "https://example.org/oauth2/registration",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_modes_supported": ["query", "fragment"],
        "code_challenge_methods_supported": ["S256"],
    }
    _ok("GET", meta, 200, metadata)
    _bad("GET", meta, 200, {**metadata, "code_challenge_methods_supported": ["plain"]})
    _bad("GET", meta, 200, {**metadata, "grant_types_supported": ["authorization_code"]})


def test_other_endpoint_bodies() -> None:
    room = quote("!room:example.org")
    _ok(
        "GET",
        f"{V3}/voip/turnServer",
        200,
        {"uris": [], "ttl": 86400, "username": "", "password": ""},
    )
    _bad("GET", f"{V3}/voip/turnServer", 200, {})
    _ok("GET", f"{V3}/thirdparty/protocols", 200, {})
    rule = {"rule_id": ".m.rule.master", "default": True, "enabled": False, "actions": []}
    _ok("GET", f"{V3}/pushrules/", 200, {"global": {"override": [rule], "content": []}})
    _bad("GET", f"{V3}/pushrules/", 200, {"override": [rule]})
    _ok("GET", f"{V3}/pushrules/global/", 200, {"override": [rule]})
    _bad("GET", f"{V3}/pushrules/global/", 200, {"override": [{"rule_id": "x"}]})
    _ok("GET", f"{V3}/account/3pid", 200, {"threepids": []})
    _ok(
        "GET",
        f"{V3}/rooms/{room}/state",
        200,
        [_event(type="m.room.name", state_key="", room_id="!room:example.org")],
    )
    _bad("GET", f"{V3}/rooms/{room}/state", 200, [_event(room_id="!room:example.org")])
    _ok("GET", f"{V3}/rooms/{room}/state/m.room.name/", 200, {"name": "Lobby"})
    _ok("PUT", f"{V3}/rooms/{room}/send/m.room.message/txn1", 200, {"event_id": "$abc"})
    _bad("PUT", f"{V3}/rooms/{room}/send/m.room.message/txn1", 200, {})
    member = _event(
        type="m.room.member",
        state_key="@alice:example.org",
        room_id="!room:example.org",
        content={"membership": "join", "displayname": None},
    )
    _ok("GET", f"{V3}/rooms/{room}/members", 200, {"chunk": [member]})
    _bad("GET", f"{V3}/rooms/{room}/members", 200, {"chunk": [{**member, "content": {}}]})
    _ok(
        "GET",
        f"{V3}/rooms/{room}/messages",
        200,
        {"start": "t1", "end": "t2", "chunk": [_event(room_id="!room:example.org")]},
    )
    _bad("GET", f"{V3}/rooms/{room}/messages", 200, {"chunk": []}, match="start")
    _ok("GET", f"{V3}/publicRooms", 200, {"chunk": [], "total_room_count_estimate": 0})
    _bad("GET", f"{V3}/publicRooms", 200, {"chunk": [{"room_id": "!a:b"}]})
    _ok("GET", "/.well-known/matrix/client", 200, {"m.homeserver": {"base_url": "https://x"}})
    _bad("GET", "/.well-known/matrix/client", 200, {"m.homeserver": {}})


def test_raw_json_bodies_are_decoded() -> None:
    check_response("GET", "/_matrix/client/versions", 200, b'{"versions": []}', JSON)
    with pytest.raises(ContractError, match="not valid JSON"):
        check_response("GET", "/_matrix/client/versions", 200, b"{nope", JSON)
    with pytest.raises(ContractError):
        check_response("GET", "/_matrix/client/versions", 200, b"{}", JSON)


def test_content_type_must_be_documented() -> None:
    with pytest.raises(ContractError, match="content type"):
        check_response("GET", "/_matrix/client/versions", 200, "<html/>", "text/html")
    # No body: nothing to check.
    check_response("GET", "/_matrix/client/versions", 200, None, "text/html")
    check_response(
        "GET", "/_matrix/client/versions", 200, {"versions": []}, "application/json; charset=utf-8"
    )


# ----------------------------------------------------- check_response: routing


@pytest.mark.parametrize(
    ("path", "template", "params"),
    [
        (
            f"{V3}/rooms/!room:example.org/state",
            f"{V3}/rooms/{{roomId}}/state",
            {"roomId": "!room:example.org"},
        ),
        (
            f"{V3}/rooms/%21room%3Aexample.org/state",
            f"{V3}/rooms/{{roomId}}/state",
            {"roomId": "!room:example.org"},
        ),
        (
            f"{V3}/profile/@user:example.org/displayname",
            f"{V3}/profile/{{userId}}/displayname",
            {"userId": "@user:example.org"},
        ),
        (
            f"{V3}/profile/%40user%3Aexample.org",
            f"{V3}/profile/{{userId}}",
            {"userId": "@user:example.org"},
        ),
        (
            f"{V3}/rooms/!r:example.org/event/$eventid",
            f"{V3}/rooms/{{roomId}}/event/{{eventId}}",
            {"roomId": "!r:example.org", "eventId": "$eventid"},
        ),
        (
            f"{V3}/rooms/%21r%3Aexample.org/context/%24ev.ent_id%3Aexample.org",
            f"{V3}/rooms/{{roomId}}/context/{{eventId}}",
            {"roomId": "!r:example.org", "eventId": "$ev.ent_id:example.org"},
        ),
        (
            f"{V3}/directory/room/%23alias%3Aexample.org",
            f"{V3}/directory/room/{{roomAlias}}",
            {"roomAlias": "#alias:example.org"},
        ),
        (
            f"{V3}/directory/room/#alias:example.org",
            f"{V3}/directory/room/{{roomAlias}}",
            {"roomAlias": "#alias:example.org"},
        ),
        (
            f"{V3}/join/%23alias%3Aexample.org",
            f"{V3}/join/{{roomIdOrAlias}}",
            {"roomIdOrAlias": "#alias:example.org"},
        ),
        (
            f"{V3}/join/!room:example.org",
            f"{V3}/join/{{roomIdOrAlias}}",
            {"roomIdOrAlias": "!room:example.org"},
        ),
        (
            f"{V3}/rooms/!r:example.org/state/m.room.name/",
            f"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey}}",
            {"roomId": "!r:example.org", "eventType": "m.room.name", "stateKey": ""},
        ),
        (
            f"{V3}/rooms/!r:example.org/state/m.room.name",
            f"{V3}/rooms/{{roomId}}/state/{{eventType}}",
            {"roomId": "!r:example.org", "eventType": "m.room.name"},
        ),
        (
            f"{V3}/rooms/!r:example.org/state/m.room.member/%40user%3Aexample.org",
            f"{V3}/rooms/{{roomId}}/state/{{eventType}}/{{stateKey}}",
            {
                "roomId": "!r:example.org",
                "eventType": "m.room.member",
                "stateKey": "@user:example.org",
            },
        ),
        (
            f"{V3}/rooms/!r:example.org/redact/$ev:example.org/txn.1",
            f"{V3}/rooms/{{roomId}}/redact/{{eventId}}/{{txnId}}",
            {"roomId": "!r:example.org", "eventId": "$ev:example.org", "txnId": "txn.1"},
        ),
        (
            f"{V3}/user/@u:example.org/rooms/!r:example.org/account_data/m.tag",
            f"{V3}/user/{{userId}}/rooms/{{roomId}}/account_data/{{type}}",
            {"userId": "@u:example.org", "roomId": "!r:example.org", "type": "m.tag"},
        ),
        (f"{V3}/pushrules/", f"{V3}/pushrules/", {}),
        (f"{V3}/pushrules/global/", f"{V3}/pushrules/global/", {}),
        (f"{V3}/logout/all", f"{V3}/logout/all", {}),
        (f"{V3}/register/available", f"{V3}/register/available", {}),
    ],
)
def test_path_matching(path: str, template: str, params: dict[str, str]) -> None:
    assert match_path(path) == (template, params)


def test_literal_segments_win_over_parameters() -> None:
    # /devices/{deviceId} must not swallow literal paths, and vice versa.
    assert match_path(f"{V3}/logout/all") == (f"{V3}/logout/all", {})
    assert match_path(f"{V3}/devices/logout") == (
        f"{V3}/devices/{{deviceId}}",
        {"deviceId": "logout"},
    )
    assert match_path(f"{V3}/user/@u:x/filter") == (
        f"{V3}/user/{{userId}}/filter",
        {"userId": "@u:x"},
    )


@pytest.mark.parametrize(
    "path",
    [
        f"{V3}/rooms//state",  # an empty segment that is not the last one
        f"{V3}/rooms/!r:example.org",
        f"{V3}/pushrules",  # trailing slash is significant
        f"{V3}/sync/",
        f"{V3}/nonexistent",
        "/_matrix/client/r0/sync",
        "/",
    ],
)
def test_unmatched_paths(path: str) -> None:
    assert match_path(path) is None


def test_undocumented_path_raises() -> None:
    with pytest.raises(ContractError, match=r"GET /_matrix/client/v3/nonexistent"):
        check_response("GET", f"{V3}/nonexistent", 404, {"errcode": "M_UNRECOGNIZED"}, JSON)


def test_undocumented_method_raises() -> None:
    with pytest.raises(ContractError, match=r"DELETE /_matrix/client/v3/sync.*not documented"):
        check_response("DELETE", f"{V3}/sync", 405, {"errcode": "M_UNRECOGNIZED"}, JSON)


def test_undocumented_status_raises() -> None:
    with pytest.raises(ContractError, match="status 418"):
        check_response("GET", "/_matrix/client/versions", 418, {"errcode": "M_TEAPOT"}, JSON)


def test_options_is_always_fine_and_head_maps_to_get() -> None:
    check_response("OPTIONS", f"{V3}/anything/at/all", 200, None, None)
    check_response("OPTIONS", f"{V3}/sync", 204, b"", "text/plain")
    check_response("HEAD", "/_matrix/client/versions", 200, None, JSON)
    with pytest.raises(ContractError):
        check_response("HEAD", f"{V3}/logout", 200, None, JSON)  # POST-only path
    check_response("get", "/_matrix/client/versions", 200, {"versions": []}, JSON)


def test_any_media_type_where_documented() -> None:
    # Media downloads are documented as */*: any uploaded type is fine there.
    path = "/_matrix/client/v1/media/download/example.org/abc"
    check_response("GET", path, 200, b"<html>", "text/html")
    with pytest.raises(ContractError, match="content type"):
        check_response(
            "GET", "/_matrix/client/v1/media/thumbnail/example.org/abc", 200, b"x", "text/html"
        )
