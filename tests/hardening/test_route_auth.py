"""Every route of the URL map that is not public answers 401 M_MISSING_TOKEN
to a request without an access token. Routes are enumerated (so endpoints
added later are covered); which are public is what spec/openapi.yaml says
(`security` allows `{}`), and the test fails for a route it does not know."""

from __future__ import annotations

from tests.hardening.routes import http_routes, is_public, operation
from tests.matrix_client import TestClient

# Served, but not API operations: the web client's files and pages.
# The web client's files, and the operator's /health, /ready and /metrics (no token:
# /metrics answers only `metrics_allowed_ips`, tests/ops covers it).
NOT_IN_THE_SPEC = ("web_client.", "operations.")
SAMPLE_VALUES = {
    "room_id": "!room:localhost",
    "room_id_or_alias": "!room:localhost",
    "user_id": "@alice:localhost",
    "event_id": "$event",
    "device_id": "DEVICE",
    "room_alias": "#alias:localhost",
    "event_type": "m.room.message",
    "state_key": "",
    "filter_id": "0",
    "action": "kick",
    "filename": "oauth.css",
    "path": "index.html",
}


async def test_every_non_public_route_needs_a_token(client: TestClient) -> None:
    checked, wrong = 0, []
    for route in http_routes(client.app):
        values = {
            name: route.choices[name][0] if name in route.choices else SAMPLE_VALUES.get(name, "x")
            for name in route.params
        }
        path = route.path(values)
        op = operation(route.method, path)
        if op is None:
            assert route.endpoint.startswith(NOT_IN_THE_SPEC), f"{route} is not in the spec"
            continue
        if is_public(op) or not any("accessToken" in s for s in op.get("security", [])):
            continue
        body = {} if route.method in ("POST", "PUT") else None
        response = await client.request(route.method, path, json=body, check_contract=False)
        checked += 1
        errcode = response.body.get("errcode") if isinstance(response.body, dict) else None
        if response.status != 401 or errcode != "M_MISSING_TOKEN":
            wrong.append(f"{route}: {response.status} {response.body}")
    assert checked > 60
    assert not wrong, "\n".join(wrong)
