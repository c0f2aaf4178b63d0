"""`/_matrix/federation/v1/user/keys/{query,claim}` and
`/_matrix/federation/v1/user/devices/{userId}` (signed requests)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from federation.api.common import federation, signed_request
from homeserver.api.common import json_response
from homeserver.errors import MatrixError

bp = Blueprint("federation_e2ee", __name__)

V1 = "/_matrix/federation/v1"


async def _json() -> object:
    body = await request.get_json(force=True, silent=True)
    if body is None:
        raise MatrixError(400, "M_NOT_JSON", "Request body is not valid JSON")
    return body


@bp.post(f"{V1}/user/keys/query")
@signed_request
async def query_keys() -> Response:
    return json_response(await federation().e2ee_queries.query(await _json()))


@bp.post(f"{V1}/user/keys/claim")
@signed_request
async def claim_keys() -> Response:
    return json_response(await federation().e2ee_queries.claim(await _json()))


@bp.get(f"{V1}/user/devices/<user_id>")
@signed_request
async def user_devices(user_id: str) -> Response:
    return json_response(await federation().e2ee_queries.devices(user_id))
