"""`PUT /_matrix/federation/v2/invite/{roomId}/{eventId}`."""

from __future__ import annotations

from quart import Blueprint, Response, request

from federation.api.common import federation, origin, signed_request
from homeserver.api.common import json_response
from homeserver.errors import MatrixError

bp = Blueprint("federation_invites", __name__)


@bp.put("/_matrix/federation/v2/invite/<room_id>/<event_id>")
@signed_request
async def invite(room_id: str, event_id: str) -> Response:
    body = await request.get_json(force=True, silent=True)
    if body is None:
        raise MatrixError(400, "M_NOT_JSON", "Request body is not valid JSON")
    invites = federation().rooms.invites
    return json_response(await invites.receive_invite(origin(), room_id, event_id, body))
