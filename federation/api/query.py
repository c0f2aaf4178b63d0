"""`GET /_matrix/federation/v1/query/{profile,directory}` (signed requests)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from federation.api.common import federation, signed_request
from homeserver.api.common import json_response
from homeserver.errors import MatrixError

bp = Blueprint("federation_query", __name__)

QUERY = "/_matrix/federation/v1/query"


def _required_arg(name: str) -> str:
    value = request.args.get(name)
    if not value:
        raise MatrixError(400, "M_MISSING_PARAM", f"Missing {name}")
    return value


@bp.get(f"{QUERY}/profile")
@signed_request
async def profile() -> Response:
    user_id = _required_arg("user_id")
    field = request.args.get("field") or None
    return json_response(await federation().queries.profile(user_id, field))


@bp.get(f"{QUERY}/directory")
@signed_request
async def directory() -> Response:
    return json_response(await federation().queries.directory(_required_arg("room_alias")))
