"""POST /search: server-side search of the rooms' messages."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from homeserver.api.common import CLIENT_V3, authenticated, hs, json_body, json_response, requester
from homeserver.handlers.search_request import SearchToken, parse_search_body

bp = Blueprint("search", __name__, url_prefix=CLIENT_V3)


@bp.post("/search")
@authenticated
async def search() -> Response:
    criteria = parse_search_body(await json_body())
    raw_token = request.args.get("next_batch")
    token = None if raw_token is None else SearchToken.parse(raw_token)
    categories: dict[str, Any] = {}
    if criteria is not None:
        me = requester()
        categories["room_events"] = await hs().search.room_events(
            me.user_id, me.device_id, criteria, token
        )
    return json_response({"search_categories": categories})
