"""Sending, fetching, paginating and redacting room events."""

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
    optional_str,
    query_int,
    requester,
)
from homeserver.api.input_checks import check_json_text
from homeserver.errors import MatrixError, forbidden, not_found
from homeserver.handlers.client_send import check_txn_id, send_client_event
from homeserver.handlers.filters import EventFilter
from homeserver.storage.events import TxnRecord
from homeserver.streams.tokens import OLDEST_POSITION, page_token, parse_pagination_token

bp = Blueprint("room_events", __name__, url_prefix=CLIENT_V3)

MAX_PAGE = 1000


async def _require_room(room_id: str) -> None:
    if not await hs().storage.events.room_exists(room_id):
        raise forbidden("You are not a member of this room")


@bp.put("/rooms/<room_id>/send/<event_type>/<txn_id>")
@authenticated
async def send(room_id: str, event_type: str, txn_id: str) -> Response:
    check_txn_id(txn_id)
    content = await json_body()
    event_id = await send_client_event(hs(), requester(), room_id, event_type, txn_id, content)
    return json_response({"event_id": event_id})


@bp.put("/rooms/<room_id>/redact/<event_id>/<txn_id>")
@authenticated
async def redact(room_id: str, event_id: str, txn_id: str) -> Response:
    check_txn_id(txn_id)
    body = await json_body(allow_empty=True)
    reason = optional_str(body, "reason")
    server = hs()
    me = requester()
    server.send_limiter.check(f"user:{me.user_id}")
    await _require_room(room_id)
    content: dict[str, Any] = {"redacts": event_id}
    if reason:
        content["reason"] = reason
    sent = await server.sender.send(
        room_id, me.user_id, "m.room.redaction", content, txn=TxnRecord(me.device_id, txn_id)
    )
    return json_response({"event_id": sent.event_id})


@bp.get("/rooms/<room_id>/event/<event_id>")
@authenticated
async def get_event(room_id: str, event_id: str) -> Response:
    server = hs()
    me = requester()
    await _require_room(room_id)
    view = await server.visibility.require_reader(room_id, me.user_id)
    stored = await server.storage.events.get_event(event_id)
    if stored is None or stored.room_id != room_id or not view.can_see(stored):
        raise not_found("Event not found")
    return json_response(
        await server.serializer.serialize_one(stored, user_id=me.user_id, device_id=me.device_id)
    )


def _room_event_filter() -> EventFilter:
    raw = request.args.get("filter")
    if not raw:
        return EventFilter()
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MatrixError(400, "M_INVALID_PARAM", "filter must be a JSON object") from exc
    check_json_text(parsed)
    return EventFilter.parse(parsed, "filter")


@bp.get("/rooms/<room_id>/messages")
@authenticated
async def messages(room_id: str) -> Response:
    server = hs()
    me = requester()
    direction = request.args.get("dir", "b")
    if direction not in ("b", "f"):
        raise MatrixError(400, "M_INVALID_PARAM", "dir must be b or f")
    backwards = direction == "b"
    limit = query_int("limit", 10, minimum=0, maximum=MAX_PAGE) or 10
    event_filter = _room_event_filter()
    raw_from = request.args.get("from")
    raw_to = request.args.get("to")
    await _require_room(room_id)
    view = await server.visibility.require_reader(room_id, me.user_id)

    newest = server.positions.current
    if raw_from:
        start = min(parse_pagination_token(raw_from), newest)
    else:
        # Forwards from the room's beginning: backfilled history lies below 0.
        start = newest if backwards else OLDEST_POSITION
    end = parse_pagination_token(raw_to) if raw_to else None
    # A user who left sees nothing after leaving.
    stop = view.last_visible_position()
    if stop is not None and view.visibility.values[-1:] != ["world_readable"]:
        if backwards:
            start = min(start, stop)
        else:
            end = stop if end is None else min(end, stop)

    page = await server.pagination.page(
        room_id,
        view,
        start=start,
        backwards=backwards,
        limit=limit,
        end=end,
        event_filter=event_filter,
    )
    body: dict[str, Any] = {
        "chunk": await server.serializer.serialize(
            page.events, user_id=me.user_id, device_id=me.device_id
        ),
        "start": raw_from or page_token(start),
    }
    if page.next_position is not None:
        body["end"] = page_token(page.next_position)
    if event_filter.lazy_load_members and page.events:
        senders = {(("m.room.member", e.event["sender"])) for e in page.events}
        members = await server.storage.events.get_current_state(room_id, senders)
        body["state"] = await server.serializer.serialize(list(members.values()))
    return json_response(body)


@bp.get("/rooms/<room_id>/context/<event_id>")
@authenticated
async def context(room_id: str, event_id: str) -> Response:
    server = hs()
    me = requester()
    limit = query_int("limit", 10, minimum=0, maximum=100) or 0
    await _require_room(room_id)
    view = await server.visibility.require_reader(room_id, me.user_id)
    stored = await server.storage.events.get_event(event_id)
    if stored is None or stored.room_id != room_id or not view.can_see(stored):
        raise not_found("Event not found")
    event_filter = _room_event_filter()
    before_count = limit // 2
    position = stored.stream_ordering
    before = await server.pagination.page(
        room_id,
        view,
        start=position - 1,
        backwards=True,
        limit=max(before_count, 1),
        end=None,
        event_filter=event_filter,
    )
    after = await server.pagination.page(
        room_id,
        view,
        start=position,
        backwards=False,
        limit=max(limit - before_count, 1),
        end=server.positions.current,
        event_filter=event_filter,
    )
    before_events = before.events[:before_count]
    after_events = after.events[: limit - before_count]
    state = await server.room_state.state_at(room_id, position)
    serialize = server.serializer.serialize
    last_after = after_events[-1].stream_ordering if after_events else position
    first_before = before_events[-1].stream_ordering - 1 if before_events else position - 1
    return json_response(
        {
            "event": (await serialize([stored], user_id=me.user_id, device_id=me.device_id))[0],
            "events_before": await serialize(
                before_events, user_id=me.user_id, device_id=me.device_id
            ),
            "events_after": await serialize(
                after_events, user_id=me.user_id, device_id=me.device_id
            ),
            "start": page_token(first_before),
            "end": page_token(last_after),
            "state": await serialize(sorted(state.values(), key=lambda e: e.stream_ordering)),
        }
    )
