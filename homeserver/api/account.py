"""The caller's account: whoami, password, devices, profile, user directory."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from homeserver.api.common import (
    CLIENT_V3,
    MAX_SAFE_INTEGER,
    authenticated,
    hs,
    json_body,
    json_response,
    requester,
    required_str,
)
from homeserver.errors import MatrixError, not_found
from homeserver.handlers.identifiers import parse_user_id
from homeserver.handlers.profile import PROFILE_FIELDS
from homeserver.util import now_ms

bp = Blueprint("account", __name__, url_prefix=CLIENT_V3)

MAX_DIRECTORY_RESULTS = 50


@bp.get("/account/whoami")
@authenticated
async def whoami() -> Response:
    me = requester()
    return json_response({"user_id": me.user_id, "device_id": me.device_id, "is_guest": False})


async def _password_stage(auth: dict[str, Any]) -> None:
    """The m.login.password UIA stage: the caller proves they know their password."""
    me = requester()
    identifier = auth.get("identifier") or {}
    claimed = identifier.get("user") if isinstance(identifier, dict) else None
    claimed = claimed or auth.get("user") or me.user_id
    password = auth.get("password")
    if not isinstance(password, str) or not isinstance(claimed, str):
        raise MatrixError(403, "M_FORBIDDEN", "Invalid password")
    server = hs()
    server.login_limiter.check(f"user:{me.user_id}")
    user_id = await server.accounts.check_password(claimed, password)
    if user_id != me.user_id:
        raise MatrixError(403, "M_FORBIDDEN", "Invalid password")


@bp.post("/account/password")
@authenticated
async def change_password() -> Response:
    server = hs()
    body = await json_body()
    new_password = server.accounts.check_password_strength(body.get("new_password"))
    await server.uia.check(body.get("auth"), "m.login.password", _password_stage)
    await server.accounts.change_password(
        requester(), new_password, bool(body.get("logout_devices", True))
    )
    return json_response({})


@bp.post("/account/deactivate")
@authenticated
async def deactivate_account() -> Response:
    server = hs()
    body = await json_body()
    erase = body.get("erase", False)
    if not isinstance(erase, bool):
        raise MatrixError(400, "M_BAD_JSON", "erase must be true or false")
    await server.uia.check(body.get("auth"), "m.login.password", _password_stage)
    await server.deactivation.deactivate(requester().user_id, erase=erase)
    # No third-party identifiers are ever bound here, so there is nothing to unbind.
    return json_response({"id_server_unbind_result": "success"})


@bp.get("/account/3pid")
@authenticated
async def threepids() -> Response:
    return json_response({"threepids": []})


# -- devices ------------------------------------------------------------------


def _device_json(device: Any) -> dict[str, Any]:
    return {
        "device_id": device.device_id,
        "display_name": device.display_name,
        "last_seen_ip": device.last_seen_ip,
        "last_seen_ts": device.last_seen_ts,
    }


@bp.get("/devices")
@authenticated
async def list_devices() -> Response:
    devices = await hs().storage.users.list_devices(requester().user_id)
    return json_response({"devices": [_device_json(d) for d in devices]})


@bp.get("/devices/<device_id>")
@authenticated
async def get_device(device_id: str) -> Response:
    device = await hs().storage.users.get_device(requester().user_id, device_id)
    if device is None:
        raise not_found("Unknown device")
    return json_response(_device_json(device))


@bp.put("/devices/<device_id>")
@authenticated
async def rename_device(device_id: str) -> Response:
    body = await json_body()
    me = requester()
    if await hs().storage.users.get_device(me.user_id, device_id) is None:
        raise not_found("Unknown device")
    name = body.get("display_name")
    if name is not None:
        if not isinstance(name, str) or len(name) > 100:
            raise MatrixError(400, "M_INVALID_PARAM", "display_name must be a short string")
        await hs().storage.users.rename_device(me.user_id, device_id, name)
    return json_response({})


@bp.delete("/devices/<device_id>")
@authenticated
async def delete_device(device_id: str) -> Response:
    body = await json_body(allow_empty=True)
    me = requester()
    # No 404 for an unknown device: the Matrix spec answers 200 when it "had
    # been removed previously" (deleting is idempotent, after UIA).
    await hs().uia.check(body.get("auth"), "m.login.password", _password_stage)
    await hs().storage.users.delete_devices(me.user_id, [device_id], now_ms())
    return json_response({})


# -- profile ------------------------------------------------------------------


@bp.get("/profile/<user_id>")
@authenticated
async def get_profile(user_id: str) -> Response:
    parse_user_id(user_id)
    return json_response(await hs().profiles.get(user_id))


@bp.get("/profile/<user_id>/<any(displayname, avatar_url):field>")
@authenticated
async def get_profile_field(user_id: str, field: str) -> Response:
    parse_user_id(user_id)
    if field not in PROFILE_FIELDS:
        raise MatrixError(404, "M_UNRECOGNIZED", f"Unknown profile field {field}")
    profile = await hs().profiles.get(user_id)
    if field not in profile:
        raise not_found(f"No {field} set")
    return json_response({field: profile[field]})


@bp.put("/profile/<user_id>/<any(displayname, avatar_url):field>")
@authenticated
async def set_profile_field(user_id: str, field: str) -> Response:
    parse_user_id(user_id)
    if field not in PROFILE_FIELDS:
        raise MatrixError(404, "M_UNRECOGNIZED", f"Unknown profile field {field}")
    body = await json_body()
    if field not in body:
        raise MatrixError(400, "M_MISSING_PARAM", f"Missing {field}")
    await hs().profiles.set_field(requester().user_id, user_id, field, body[field])
    return json_response({})


@bp.post("/user_directory/search")
@authenticated
async def user_directory_search() -> Response:
    body = await json_body()
    term = required_str(body, "search_term").strip()
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_SAFE_INTEGER:
        raise MatrixError(400, "M_INVALID_PARAM", "limit must be a non-negative integer")
    limit = min(limit, MAX_DIRECTORY_RESULTS)
    if not term:
        return json_response({"limited": False, "results": []})
    found = await hs().storage.users.search_users(term, limit + 1)
    results = []
    for user in found[:limit]:
        entry: dict[str, Any] = {"user_id": user.user_id}
        if user.displayname:
            entry["display_name"] = user.displayname
        if user.avatar_url:
            entry["avatar_url"] = user.avatar_url
        results.append(entry)
    return json_response({"limited": len(found) > limit, "results": results})
