"""Room aliases and the public room directory."""

from __future__ import annotations

from quart import Blueprint, Response, request

from homeserver.api.common import (
    CLIENT_V3,
    MAX_SAFE_INTEGER,
    authenticated,
    hs,
    json_body,
    json_response,
    query_int,
    requester,
    required_str,
)
from homeserver.errors import MatrixError, forbidden

bp = Blueprint("directory", __name__, url_prefix=CLIENT_V3)

MAX_PUBLIC_ROOMS_PAGE = 500


@bp.get("/directory/room/<room_alias>")
async def resolve_alias(room_alias: str) -> Response:
    return json_response(await hs().directory.resolve(room_alias))


@bp.put("/directory/room/<room_alias>")
@authenticated
async def create_alias(room_alias: str) -> Response:
    body = await json_body()
    room_id = required_str(body, "room_id")
    if not await hs().storage.events.room_exists(room_id):
        raise MatrixError(404, "M_NOT_FOUND", "Unknown room")
    await hs().directory.create(room_alias, room_id, requester().user_id)
    return json_response({})


@bp.delete("/directory/room/<room_alias>")
@authenticated
async def delete_alias(room_alias: str) -> Response:
    me = requester()
    await hs().directory.delete(room_alias, me.user_id, me.is_admin)
    return json_response({})


@bp.get("/rooms/<room_id>/aliases")
@authenticated
async def room_aliases(room_id: str) -> Response:
    server = hs()
    view = await server.visibility.room_view(room_id, requester().user_id)
    if view.current_membership != "join" and view.visibility.values[-1:] != ["world_readable"]:
        raise forbidden("You are not in this room")
    return json_response({"aliases": await server.storage.account_data.aliases_for_room(room_id)})


@bp.get("/directory/list/room/<room_id>")
async def get_room_visibility(room_id: str) -> Response:
    return json_response({"visibility": await hs().directory.get_visibility(room_id)})


@bp.put("/directory/list/room/<room_id>")
@authenticated
async def set_room_visibility(room_id: str) -> Response:
    body = await json_body()
    await hs().directory.set_visibility(room_id, requester().user_id, body.get("visibility"))
    return json_response({})


@bp.get("/publicRooms")
async def public_rooms_get() -> Response:
    limit = query_int("limit", None, minimum=0, maximum=MAX_PUBLIC_ROOMS_PAGE)
    return json_response(await hs().directory.public_rooms(limit, request.args.get("since"), None))


@bp.post("/publicRooms")
@authenticated
async def public_rooms_post() -> Response:
    body = await json_body(allow_empty=True)
    limit = body.get("limit")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_SAFE_INTEGER
    ):
        raise MatrixError(400, "M_INVALID_PARAM", "limit must be a non-negative integer")
    since = body.get("since")
    if since is not None and not isinstance(since, str):
        raise MatrixError(400, "M_INVALID_PARAM", "since must be a string")
    room_filter = body.get("filter", {})
    if not isinstance(room_filter, dict):
        raise MatrixError(400, "M_INVALID_PARAM", "filter must be an object")
    search = room_filter.get("generic_search_term")
    if search is not None and not isinstance(search, str):
        raise MatrixError(400, "M_INVALID_PARAM", "generic_search_term must be a string")
    return json_response(
        await hs().directory.public_rooms(
            None if limit is None else min(limit, MAX_PUBLIC_ROOMS_PAGE), since, search
        )
    )
