"""Other servers reading our rooms: `/state`, `/event_auth`, `/backfill` and
`/get_missing_events` (signed requests; `/event` and `/state_ids` are in events.py)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from federation.api.common import federation, origin, signed_request
from homeserver.api.common import json_response
from homeserver.errors import MatrixError

bp = Blueprint("federation_room_reads", __name__)

V1 = "/_matrix/federation/v1"


def _event_id_arg() -> str:
    event_id = request.args.get("event_id")
    if not event_id:
        raise MatrixError(400, "M_MISSING_PARAM", "Missing event_id")
    return event_id


@bp.get(f"{V1}/state/<room_id>")
@signed_request
async def get_state(room_id: str) -> Response:
    reads = federation().rooms.reads
    return json_response(await reads.state(origin(), room_id, _event_id_arg()))


@bp.get(f"{V1}/event_auth/<room_id>/<event_id>")
@signed_request
async def get_event_auth(room_id: str, event_id: str) -> Response:
    return json_response(await federation().rooms.reads.event_auth(origin(), room_id, event_id))


@bp.get(f"{V1}/backfill/<room_id>")
@signed_request
async def backfill(room_id: str) -> Response:
    starts = request.args.getlist("v")
    if not starts:
        raise MatrixError(400, "M_MISSING_PARAM", "Missing v")
    try:
        limit = int(request.args.get("limit", "10"))
    except ValueError as exc:
        raise MatrixError(400, "M_INVALID_PARAM", "limit must be an integer") from exc
    return json_response(await federation().rooms.reads.backfill(origin(), room_id, starts, limit))


@bp.post(f"{V1}/get_missing_events/<room_id>")
@signed_request
async def get_missing_events(room_id: str) -> Response:
    body = await request.get_json(force=True, silent=True)
    return json_response(await federation().rooms.reads.missing_events(origin(), room_id, body))
