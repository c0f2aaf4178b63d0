"""Account data, global and per room."""

from __future__ import annotations

from quart import Blueprint, Response

from homeserver.api.common import (
    CLIENT_V3,
    authenticated,
    hs,
    json_body,
    json_response,
    require_self,
)
from homeserver.errors import MatrixError, forbidden, not_found
from homeserver.handlers.identifiers import is_room_id

bp = Blueprint("account_data", __name__, url_prefix=CLIENT_V3)

SERVER_MANAGED_TYPES = {"m.fully_read", "m.push_rules"}
MAX_TYPE_LENGTH = 255


def _check_type(data_type: str) -> None:
    if len(data_type) > MAX_TYPE_LENGTH:
        raise MatrixError(400, "M_INVALID_PARAM", "Account data type too long")
    if data_type in SERVER_MANAGED_TYPES:
        raise MatrixError(
            405, "M_BAD_JSON", f"{data_type} is managed by the server and cannot be set here"
        )


async def _put(user_id: str, room_id: str, data_type: str) -> Response:
    require_self(user_id, "set account data")
    _check_type(data_type)
    content = await json_body()
    server = hs()
    async with server.positions.allocate() as position:
        await server.storage.account_data.put(user_id, room_id, data_type, content, position)
    server.notifier.notify_users([user_id], position)
    return json_response({})


async def _get(user_id: str, room_id: str, data_type: str) -> Response:
    require_self(user_id, "read account data")
    content = await hs().storage.account_data.get(user_id, room_id, data_type)
    if content is None:
        raise not_found("Account data not found")
    return json_response(content)


@bp.put("/user/<user_id>/account_data/<data_type>")
@authenticated
async def put_global(user_id: str, data_type: str) -> Response:
    return await _put(user_id, "", data_type)


@bp.get("/user/<user_id>/account_data/<data_type>")
@authenticated
async def get_global(user_id: str, data_type: str) -> Response:
    return await _get(user_id, "", data_type)


async def _check_room(room_id: str, user_id: str) -> None:
    if not is_room_id(room_id):
        raise MatrixError(400, "M_INVALID_PARAM", "Not a valid room id")
    membership = await hs().storage.events.get_membership(room_id, user_id)
    if membership is None:
        raise forbidden("You have never been in this room")


@bp.put("/user/<user_id>/rooms/<room_id>/account_data/<data_type>")
@authenticated
async def put_room(user_id: str, room_id: str, data_type: str) -> Response:
    require_self(user_id, "set account data")
    await _check_room(room_id, user_id)
    return await _put(user_id, room_id, data_type)


@bp.get("/user/<user_id>/rooms/<room_id>/account_data/<data_type>")
@authenticated
async def get_room(user_id: str, room_id: str, data_type: str) -> Response:
    require_self(user_id, "read account data")
    await _check_room(room_id, user_id)
    return await _get(user_id, room_id, data_type)
