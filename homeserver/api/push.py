"""Push rules (/pushrules) and pushers (/pushers), for the calling user only."""

from __future__ import annotations

from quart import Blueprint, Response, request

from homeserver.api.common import CLIENT_V3, authenticated, hs, json_body, json_response, requester
from homeserver.errors import MatrixError

bp = Blueprint("push", __name__, url_prefix=CLIENT_V3)

RULE = "/pushrules/global/<kind>/<rule_id>"


# -- push rules ---------------------------------------------------------------------


@bp.get("/pushrules/")
@authenticated
async def get_push_rules() -> Response:
    return json_response({"global": await hs().push.rules.effective(requester().user_id)})


@bp.get("/pushrules/global/")
@authenticated
async def get_push_rules_global() -> Response:
    return json_response(await hs().push.rules.effective(requester().user_id))


@bp.get(RULE)
@authenticated
async def get_rule(kind: str, rule_id: str) -> Response:
    return json_response(await hs().push.rules.rule(requester().user_id, kind, rule_id))


@bp.put(RULE)
@authenticated
async def put_rule(kind: str, rule_id: str) -> Response:
    body = await json_body()
    before = request.args.get("before") or None
    after = request.args.get("after") or None
    await hs().push.rules.put_rule(requester().user_id, kind, rule_id, body, before, after)
    return json_response({})


@bp.delete(RULE)
@authenticated
async def delete_rule(kind: str, rule_id: str) -> Response:
    await hs().push.rules.delete_rule(requester().user_id, kind, rule_id)
    return json_response({})


@bp.get(f"{RULE}/enabled")
@authenticated
async def get_enabled(kind: str, rule_id: str) -> Response:
    rule = await hs().push.rules.rule(requester().user_id, kind, rule_id)
    return json_response({"enabled": rule.get("enabled", True)})


@bp.put(f"{RULE}/enabled")
@authenticated
async def put_enabled(kind: str, rule_id: str) -> Response:
    body = await json_body()
    if "enabled" not in body:
        raise MatrixError(400, "M_MISSING_PARAM", "Missing enabled")
    enabled = body["enabled"]
    if not isinstance(enabled, bool):
        raise MatrixError(400, "M_BAD_JSON", "enabled must be true or false")
    await hs().push.rules.set_enabled(requester().user_id, kind, rule_id, enabled)
    return json_response({})


@bp.get(f"{RULE}/actions")
@authenticated
async def get_actions(kind: str, rule_id: str) -> Response:
    rule = await hs().push.rules.rule(requester().user_id, kind, rule_id)
    return json_response({"actions": rule.get("actions", [])})


@bp.put(f"{RULE}/actions")
@authenticated
async def put_actions(kind: str, rule_id: str) -> Response:
    body = await json_body()
    if "actions" not in body:
        raise MatrixError(400, "M_MISSING_PARAM", "Missing actions")
    await hs().push.rules.set_actions(requester().user_id, kind, rule_id, body["actions"])
    return json_response({})


# -- pushers ------------------------------------------------------------------------


@bp.get("/pushers")
@authenticated
async def get_pushers() -> Response:
    return json_response({"pushers": await hs().push.pushers.list(requester().user_id)})


@bp.post("/pushers/set")
@authenticated
async def set_pusher() -> Response:
    caller = requester()
    await hs().push.pushers.set(caller.user_id, caller.device_id, await json_body())
    return json_response({})
