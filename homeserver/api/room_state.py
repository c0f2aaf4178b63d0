"""Reading and setting room state; member lists."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from homeserver.api.common import CLIENT_V3, authenticated, hs, json_body, json_response, requester
from homeserver.errors import MatrixError, forbidden, not_found
from homeserver.handlers.visibility import RoomView
from homeserver.storage.events import StateKey, StoredEvent

MEMBERSHIPS = frozenset({"invite", "join", "knock", "leave", "ban"})
bp = Blueprint("room_state", __name__, url_prefix=CLIENT_V3)


async def _readable_state(room_id: str) -> dict[StateKey, StoredEvent]:
    """The state the caller may see: current while joined (or the room is world
    readable), as it was when they left otherwise."""
    server = hs()
    if not await server.storage.events.room_exists(room_id):
        raise forbidden("You are not a member of this room")
    view: RoomView = await server.visibility.require_reader(room_id, requester().user_id)
    stop = view.last_visible_position()
    if stop is None or view.visibility.values[-1:] == ["world_readable"]:
        return await server.room_state.current_state(room_id)
    return await server.room_state.state_at(room_id, stop)


@bp.get("/rooms/<room_id>/state")
@authenticated
async def get_state(room_id: str) -> Response:
    state = await _readable_state(room_id)
    events = sorted(state.values(), key=lambda e: e.stream_ordering)
    return json_response(await hs().serializer.serialize(events))


@bp.get("/rooms/<room_id>/state/<event_type>")
@bp.get("/rooms/<room_id>/state/<event_type>/")
@bp.get("/rooms/<room_id>/state/<event_type>/<path:state_key>")
@authenticated
async def get_state_event(room_id: str, event_type: str, state_key: str = "") -> Response:
    state = await _readable_state(room_id)
    stored = state.get((event_type, state_key))
    if stored is None:
        raise not_found("Event not found")
    state_format = request.args.get("format", "content")
    if state_format not in ("content", "event"):
        raise MatrixError(400, "M_INVALID_PARAM", "format must be content or event")
    if state_format == "event":
        return json_response(await hs().serializer.serialize_one(stored))
    return json_response(stored.event["content"])


@bp.put("/rooms/<room_id>/state/<event_type>")
@bp.put("/rooms/<room_id>/state/<event_type>/")
@bp.put("/rooms/<room_id>/state/<event_type>/<path:state_key>")
@authenticated
async def put_state_event(room_id: str, event_type: str, state_key: str = "") -> Response:
    content = await json_body()
    server = hs()
    me = requester()
    server.send_limiter.check(f"user:{me.user_id}")
    if not await server.storage.events.room_exists(room_id):
        raise not_found("Unknown room")
    if event_type == "m.room.create":
        raise forbidden("The create event cannot be replaced")
    if event_type == "m.room.canonical_alias":
        await _check_aliases(room_id, content)
    sent = await server.sender.send(room_id, me.user_id, event_type, content, state_key=state_key)
    return json_response({"event_id": sent.event_id})


async def _check_aliases(room_id: str, content: dict[str, Any]) -> None:
    aliases = [content.get("alias"), *content.get("alt_aliases", [])]
    for alias in aliases:
        if alias is None:
            continue
        if not isinstance(alias, str):
            raise MatrixError(400, "M_BAD_JSON", "Aliases must be strings")
        found = await hs().storage.account_data.get_alias(alias)
        if found is None or found[0] != room_id:
            raise MatrixError(400, "M_BAD_ALIAS", f"{alias} does not point to this room")


@bp.get("/rooms/<room_id>/members")
@authenticated
async def members(room_id: str) -> Response:
    state = await _readable_state(room_id)
    wanted = request.args.get("membership")
    unwanted = request.args.get("not_membership")
    for name, value in (("membership", wanted), ("not_membership", unwanted)):
        if value is not None and value not in MEMBERSHIPS:
            allowed = ", ".join(sorted(MEMBERSHIPS))
            raise MatrixError(400, "M_INVALID_PARAM", f"{name} must be one of {allowed}")
    chosen = []
    for (event_type, _), stored in state.items():
        if event_type != "m.room.member":
            continue
        membership = stored.event["content"].get("membership")
        if wanted and membership != wanted:
            continue
        if unwanted and membership == unwanted:
            continue
        chosen.append(stored)
    chosen.sort(key=lambda e: e.stream_ordering)
    return json_response({"chunk": await hs().serializer.serialize(chosen)})


@bp.get("/rooms/<room_id>/joined_members")
@authenticated
async def joined_members(room_id: str) -> Response:
    server = hs()
    membership = await server.storage.events.get_membership(room_id, requester().user_id)
    if membership is None or membership.membership != "join":
        raise forbidden("You are not in this room")
    state = await server.room_state.current_state(room_id)
    joined: dict[str, Any] = {}
    for (event_type, state_key), stored in state.items():
        content = stored.event["content"]
        if event_type == "m.room.member" and content.get("membership") == "join":
            profile = {}
            for source, target in (("displayname", "display_name"), ("avatar_url", "avatar_url")):
                if isinstance(content.get(source), str):
                    profile[target] = content[source]
            joined[state_key] = profile
    return json_response({"joined": joined})
