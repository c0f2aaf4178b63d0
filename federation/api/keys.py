"""Server keys: ours (`/_matrix/key/v2/server`) and key queries answered as a
notary (`/_matrix/key/v2/query`). Unauthenticated, as the spec has them."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from federation.api.common import federation
from federation.server_names import is_valid_server_name
from homeserver.api.common import json_body, json_response
from homeserver.errors import MatrixError

bp = Blueprint("federation_keys", __name__)

KEY_V2 = "/_matrix/key/v2"
MAX_QUERIED_SERVERS = 100


@bp.get(f"{KEY_V2}/server")
async def server_keys() -> Response:
    return json_response(federation().notary.own_keys())


def _timestamp(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise MatrixError(400, "M_INVALID_PARAM", f"{where} must be an integer")
    return value


@bp.get(f"{KEY_V2}/query/<server_name>")
async def query_one(server_name: str) -> Response:
    if not is_valid_server_name(server_name):
        raise MatrixError(400, "M_INVALID_PARAM", "Not a valid server name")
    raw = request.args.get("minimum_valid_until_ts")
    minimum = None
    if raw:
        if not raw.lstrip("-").isdigit():
            raise MatrixError(400, "M_INVALID_PARAM", "minimum_valid_until_ts must be an integer")
        minimum = int(raw)
    return json_response({"server_keys": await federation().notary.query(server_name, minimum)})


@bp.post(f"{KEY_V2}/query")
async def query_many() -> Response:
    body = await json_body()
    wanted = body.get("server_keys")
    if not isinstance(wanted, dict):
        raise MatrixError(400, "M_BAD_JSON", "server_keys must be an object")
    if len(wanted) > MAX_QUERIED_SERVERS:
        raise MatrixError(400, "M_TOO_LARGE", f"At most {MAX_QUERIED_SERVERS} servers per query")
    answers: list[dict[str, Any]] = []
    for server_name, criteria in wanted.items():
        if not is_valid_server_name(server_name) or not isinstance(criteria, dict):
            raise MatrixError(400, "M_BAD_JSON", "server_keys maps server names to objects")
        minimums = []
        for key_id, criterion in criteria.items():
            if not isinstance(criterion, dict):
                raise MatrixError(400, "M_BAD_JSON", f"criteria for {key_id} must be an object")
            value = _timestamp(criterion.get("minimum_valid_until_ts"), "minimum_valid_until_ts")
            if value is not None:
                minimums.append(value)
        answers += await federation().notary.query(server_name, max(minimums) if minimums else None)
    return json_response({"server_keys": answers})
