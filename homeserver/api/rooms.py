"""Creating rooms and changing membership."""

from __future__ import annotations

from quart import Blueprint, Response, request

from homeserver.api.common import (
    CLIENT_V3,
    authenticated,
    hs,
    json_body,
    json_response,
    optional_str,
    requester,
    required_str,
)
from homeserver.errors import MatrixError
from homeserver.handlers.room_creation import CreateRoomRequest

bp = Blueprint("rooms", __name__, url_prefix=CLIENT_V3)


@bp.post("/createRoom")
@authenticated
async def create_room() -> Response:
    body = await json_body(allow_empty=True)
    request = CreateRoomRequest.parse(body)
    server = hs()
    server.send_limiter.check(f"user:{requester().user_id}")
    room_id, alias = await server.rooms.create(requester().user_id, request)
    result = {"room_id": room_id}
    if alias:
        result["room_alias"] = alias
    return json_response(result)


@bp.post("/join/<room_id_or_alias>")
@authenticated
async def join_by_id_or_alias(room_id_or_alias: str) -> Response:
    body = await json_body(allow_empty=True)
    # The servers to join a room of another server through (`server_name` is the
    # older name of `via`).
    servers = [*request.args.getlist("via"), *request.args.getlist("server_name")]
    room_id = await hs().membership.join_room(
        room_id_or_alias, requester().user_id, optional_str(body, "reason"), servers
    )
    return json_response({"room_id": room_id})


@bp.post("/rooms/<room_id>/join")
@authenticated
async def join(room_id: str) -> Response:
    return await join_by_id_or_alias(room_id)


@bp.post("/rooms/<room_id>/invite")
@authenticated
async def invite(room_id: str) -> Response:
    body = await json_body()
    server = hs()
    room_id = await server.membership.resolve_room(room_id)
    await server.membership.invite(
        room_id,
        requester().user_id,
        required_str(body, "user_id"),
        reason=optional_str(body, "reason"),
    )
    return json_response({})


@bp.post("/rooms/<room_id>/leave")
@authenticated
async def leave(room_id: str) -> Response:
    body = await json_body(allow_empty=True)
    server = hs()
    room_id = await server.membership.resolve_room(room_id)
    await server.membership.leave(room_id, requester().user_id, optional_str(body, "reason"))
    return json_response({})


@bp.post("/rooms/<room_id>/<action>")
@authenticated
async def moderate(room_id: str, action: str) -> Response:
    if action not in ("kick", "ban", "unban"):
        raise MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request")
    body = await json_body()
    server = hs()
    room_id = await server.membership.resolve_room(room_id)
    target = required_str(body, "user_id")
    reason = optional_str(body, "reason")
    handler = {
        "kick": server.membership.kick,
        "ban": server.membership.ban,
        "unban": server.membership.unban,
    }[action]
    await handler(room_id, requester().user_id, target, reason)
    return json_response({})


@bp.post("/rooms/<room_id>/forget")
@authenticated
async def forget(room_id: str) -> Response:
    server = hs()
    room_id = await server.membership.resolve_room(room_id)
    await server.membership.forget(room_id, requester().user_id)
    return json_response({})


@bp.get("/joined_rooms")
@authenticated
async def joined_rooms() -> Response:
    rows = await hs().storage.events.get_rooms_for_user(requester().user_id, ("join",))
    return json_response({"joined_rooms": sorted(r.room_id for r in rows)})
