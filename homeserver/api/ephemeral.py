"""Typing, receipts, read markers and presence."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from homeserver.api.common import (
    CLIENT_V3,
    authenticated,
    hs,
    json_body,
    json_response,
    optional_str,
    requester,
    require_self,
)
from homeserver.errors import MatrixError, forbidden

bp = Blueprint("ephemeral", __name__, url_prefix=CLIENT_V3)


@bp.put("/rooms/<room_id>/typing/<user_id>")
@authenticated
async def typing(room_id: str, user_id: str) -> Response:
    require_self(user_id, "set typing")
    body = await json_body()
    is_typing = body.get("typing")
    if not isinstance(is_typing, bool):
        raise MatrixError(400, "M_BAD_JSON", "typing must be true or false")
    timeout = body.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)):
        raise MatrixError(400, "M_BAD_JSON", "timeout must be an integer")
    server = hs()
    await server.typing.set_typing(room_id, user_id, is_typing, timeout)
    if is_typing:
        await server.presence.active(user_id)
    return json_response({})


@bp.post("/rooms/<room_id>/receipt/<receipt_type>/<event_id>")
@authenticated
async def receipt(room_id: str, receipt_type: str, event_id: str) -> Response:
    body = await json_body(allow_empty=True)
    thread_id = body.get("thread_id")
    if thread_id is not None and not isinstance(thread_id, str):
        raise MatrixError(400, "M_BAD_JSON", "thread_id must be a string")
    server = hs()
    me = requester()
    if receipt_type == "m.fully_read":
        await server.receipts.set_fully_read(room_id, me.user_id, event_id)
    else:
        # Threaded receipts are accepted and counted as unthreaded ones.
        await server.receipts.post_receipt(room_id, me.user_id, receipt_type, event_id)
    await server.presence.active(me.user_id)
    return json_response({})


@bp.post("/rooms/<room_id>/read_markers")
@authenticated
async def read_markers(room_id: str) -> Response:
    body = await json_body()
    server = hs()
    me = requester()
    markers: dict[str, Any] = {
        key: optional_str(body, key) for key in ("m.fully_read", "m.read", "m.read.private")
    }
    if markers["m.fully_read"]:
        await server.receipts.set_fully_read(room_id, me.user_id, markers["m.fully_read"])
    for receipt_type in ("m.read", "m.read.private"):
        if markers[receipt_type]:
            await server.receipts.post_receipt(
                room_id, me.user_id, receipt_type, markers[receipt_type]
            )
    return json_response({})


@bp.get("/presence/<user_id>/status")
@authenticated
async def get_presence(user_id: str) -> Response:
    server = hs()
    me = requester()
    if user_id != me.user_id and not await server.storage.events.users_share_room(
        me.user_id, user_id
    ):
        raise forbidden("You do not share a room with this user")
    return json_response(server.presence.content(user_id))


@bp.put("/presence/<user_id>/status")
@authenticated
async def set_presence(user_id: str) -> Response:
    require_self(user_id, "set presence")
    body = await json_body()
    await hs().presence.set_status(user_id, body.get("presence"), body.get("status_msg"))
    return json_response({})
