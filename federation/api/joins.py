"""`make_join`/`send_join` (v2) and `make_leave`/`send_leave` (v2)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from federation.api.common import federation, origin, signed_request
from homeserver.api.common import json_response
from homeserver.errors import MatrixError

bp = Blueprint("federation_joins", __name__)


async def _signed_event() -> object:
    body = await request.get_json(force=True, silent=True)
    if body is None:
        raise MatrixError(400, "M_NOT_JSON", "Request body is not valid JSON")
    return body


@bp.get("/_matrix/federation/v1/make_join/<room_id>/<user_id>")
@signed_request
async def make_join(room_id: str, user_id: str) -> Response:
    # Servers that send no `ver` support only room version 1.
    versions = request.args.getlist("ver") or ["1"]
    joins = federation().rooms.joins
    return json_response(await joins.make_membership(origin(), room_id, user_id, "join", versions))


@bp.put("/_matrix/federation/v2/send_join/<room_id>/<event_id>")
@signed_request
async def send_join(room_id: str, event_id: str) -> Response:
    joins = federation().rooms.joins
    pdu = await _signed_event()
    return json_response(await joins.send_membership(origin(), room_id, event_id, pdu, "join"))


@bp.get("/_matrix/federation/v1/make_leave/<room_id>/<user_id>")
@signed_request
async def make_leave(room_id: str, user_id: str) -> Response:
    joins = federation().rooms.joins
    return json_response(await joins.make_membership(origin(), room_id, user_id, "leave", None))


@bp.put("/_matrix/federation/v2/send_leave/<room_id>/<event_id>")
@signed_request
async def send_leave(room_id: str, event_id: str) -> Response:
    joins = federation().rooms.joins
    pdu = await _signed_event()
    return json_response(await joins.send_membership(origin(), room_id, event_id, pdu, "leave"))
