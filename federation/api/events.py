"""`GET /_matrix/federation/v1/event/{eventId}` and `/state_ids/{roomId}`
(signed requests; what the asking server may see)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from federation.api.common import federation, origin, signed_request
from homeserver.api.common import json_response
from homeserver.errors import MatrixError

bp = Blueprint("federation_events", __name__)

V1 = "/_matrix/federation/v1"


@bp.get(f"{V1}/event/<event_id>")
@signed_request
async def get_event(event_id: str) -> Response:
    return json_response(await federation().event_reads.event(origin(), event_id))


@bp.get(f"{V1}/state_ids/<room_id>")
@signed_request
async def get_state_ids(room_id: str) -> Response:
    event_id = request.args.get("event_id")
    if not event_id:
        raise MatrixError(400, "M_MISSING_PARAM", "Missing event_id")
    return json_response(await federation().event_reads.state_ids(origin(), room_id, event_id))
