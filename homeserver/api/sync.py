"""GET /sync and stored filters."""

from __future__ import annotations

from typing import Any

import orjson
from quart import Blueprint, Response, request

from homeserver.api.common import (
    CLIENT_V3,
    authenticated,
    hs,
    json_body,
    json_response,
    query_int,
    requester,
    require_self,
)
from homeserver.api.input_checks import check_json_text
from homeserver.errors import MatrixError, not_found
from homeserver.handlers.filters import SyncFilter
from homeserver.handlers.sync import MAX_TIMEOUT_MS
from homeserver.streams.tokens import StreamToken

bp = Blueprint("sync", __name__, url_prefix=CLIENT_V3)


async def _load_filter(raw: str | None, user_id: str) -> SyncFilter:
    if not raw:
        return SyncFilter()
    if raw.lstrip().startswith("{"):
        try:
            definition: Any = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise MatrixError(400, "M_INVALID_PARAM", "filter is not valid JSON") from exc
        check_json_text(definition)
        return SyncFilter.parse(definition)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise MatrixError(400, "M_INVALID_PARAM", "filter must be a filter id or JSON")
    stored = await hs().storage.account_data.get_filter(user_id, int(raw))
    if stored is None:
        raise MatrixError(400, "M_INVALID_PARAM", f"No filter with id {raw}")
    return SyncFilter.parse(stored)


@bp.get("/sync")
@authenticated
async def sync() -> Response:
    me = requester()
    since_raw = request.args.get("since")
    since = StreamToken.parse(since_raw) if since_raw else None
    sync_filter = await _load_filter(request.args.get("filter"), me.user_id)
    timeout = query_int("timeout", 0, minimum=0, maximum=MAX_TIMEOUT_MS) or 0
    full_state_raw = request.args.get("full_state", "false")
    if full_state_raw not in ("true", "false"):
        raise MatrixError(400, "M_INVALID_PARAM", "full_state must be true or false")
    full_state = full_state_raw == "true"
    set_presence = request.args.get("set_presence", "online")
    if set_presence not in ("online", "offline", "unavailable"):
        raise MatrixError(
            400, "M_INVALID_PARAM", "set_presence must be online, offline or unavailable"
        )
    server = hs()
    await server.presence.syncing(me.user_id, set_presence, timeout)
    waiting = server.metrics.long_polls if timeout > 0 else None
    if waiting is not None:
        waiting.inc()
    try:
        result = await server.sync.wait_for_sync(
            me, since, sync_filter, full_state=full_state, timeout_ms=timeout
        )
    finally:
        if waiting is not None:
            waiting.dec()
    return json_response(result.to_json())


@bp.post("/user/<user_id>/filter")
@authenticated
async def create_filter(user_id: str) -> Response:
    require_self(user_id, "create filters")
    body = await json_body()
    SyncFilter.parse(body)
    filter_id = await hs().storage.account_data.add_filter(user_id, body)
    return json_response({"filter_id": str(filter_id)})


@bp.get("/user/<user_id>/filter/<filter_id>")
@authenticated
async def get_filter(user_id: str, filter_id: str) -> Response:
    require_self(user_id, "read filters")
    if not (filter_id.isascii() and filter_id.isdigit()) or len(filter_id) > 9:
        raise not_found("No such filter")
    stored = await hs().storage.account_data.get_filter(user_id, int(filter_id))
    if stored is None:
        raise not_found("No such filter")
    return json_response(stored)
