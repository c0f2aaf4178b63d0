"""Server-side key backup: /room_keys/version and /room_keys/keys."""

from __future__ import annotations

from quart import Blueprint, Response, request

from homeserver.api.common import CLIENT_V3, authenticated, hs, json_body, json_response, requester

bp = Blueprint("room_keys", __name__, url_prefix=CLIENT_V3)


@bp.post("/room_keys/version")
@authenticated
async def create_version() -> Response:
    backup = hs().e2ee.key_backup
    return json_response(await backup.create_version(requester().user_id, await json_body()))


@bp.get("/room_keys/version")
@authenticated
async def current_version() -> Response:
    return json_response(await hs().e2ee.key_backup.get_version(requester().user_id, None))


@bp.get("/room_keys/version/<version>")
@authenticated
async def get_version(version: str) -> Response:
    return json_response(await hs().e2ee.key_backup.get_version(requester().user_id, version))


@bp.put("/room_keys/version/<version>")
@authenticated
async def update_version(version: str) -> Response:
    body = await json_body()
    await hs().e2ee.key_backup.update_version(requester().user_id, version, body)
    return json_response({})


@bp.delete("/room_keys/version/<version>")
@authenticated
async def delete_version(version: str) -> Response:
    await hs().e2ee.key_backup.delete_version(requester().user_id, version)
    return json_response({})


@bp.route("/room_keys/keys", methods=["GET", "PUT", "DELETE"])
@bp.route("/room_keys/keys/<room_id>", methods=["GET", "PUT", "DELETE"])
@bp.route("/room_keys/keys/<room_id>/<session_id>", methods=["GET", "PUT", "DELETE"])
@authenticated
async def keys(room_id: str | None = None, session_id: str | None = None) -> Response:
    backup = hs().e2ee.key_backup
    user_id = requester().user_id
    version = request.args.get("version")
    if request.method == "GET":
        return json_response(await backup.get_keys(user_id, version, room_id, session_id))
    if request.method == "PUT":
        body = await json_body()
        return json_response(await backup.put_keys(user_id, version, body, room_id, session_id))
    return json_response(await backup.delete_keys(user_id, version, room_id, session_id))
