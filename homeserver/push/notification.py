"""What a push says: one notification for one user, and its two wire forms,
the Matrix push gateway request (`POST /_matrix/push/v1/notify`) and the Web
Push payload the web client's service worker reads. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from homeserver.storage.pushers import Pusher

EVENT_ID_ONLY: Final = "event_id_only"
PREVIEW_CHARS: Final = 200
NAME_CHARS: Final = 100


@dataclass(frozen=True)
class Notification:
    event_id: str
    room_id: str
    event_type: str
    sender: str
    content: Mapping[str, Any]
    prio: str  # "high" or "low"
    unread: int  # the user's unread notifying events, across rooms
    tweaks: Mapping[str, Any] = field(default_factory=dict)
    sender_display_name: str | None = None
    room_name: str | None = None
    room_alias: str | None = None
    user_is_target: bool | None = None  # only for member events


def tweaks_for_actions(actions: Sequence[Any]) -> dict[str, Any]:
    """The `set_tweak` actions as a dict; a tweak without value means true."""
    tweaks: dict[str, Any] = {}
    for action in actions:
        if isinstance(action, Mapping) and isinstance(action.get("set_tweak"), str):
            tweaks[action["set_tweak"]] = action.get("value", True)
    return tweaks


def priority(event_type: str, tweaks: Mapping[str, Any]) -> str:
    """High when the push makes a sound or highlights, or may (an encrypted
    event's content is unknown); low otherwise, so that phones may batch it."""
    if event_type == "m.room.encrypted" or tweaks.get("highlight") or tweaks.get("sound"):
        return "high"
    return "low"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def gateway_request(
    notification: Notification, pusher: Pusher, *, include_content: bool
) -> dict[str, Any]:
    """The push gateway API request body for one http pusher."""
    device = {
        "app_id": pusher.app_id,
        "pushkey": pusher.pushkey,
        "pushkey_ts": pusher.pushkey_ts // 1000,
        # Everything the client gave in `data` except the url (spec: forwarded).
        "data": {k: v for k, v in pusher.data.items() if k != "url"},
        "tweaks": dict(notification.tweaks),
    }
    counts = {"unread": notification.unread} if notification.unread else {}
    body: dict[str, Any] = {
        "event_id": notification.event_id,
        "room_id": notification.room_id,
        "counts": counts,
        "prio": notification.prio,
        "devices": [device],
    }
    if pusher.data.get("format") == EVENT_ID_ONLY:
        return {"notification": body}
    body["type"] = notification.event_type
    body["sender"] = notification.sender
    if notification.sender_display_name:
        body["sender_display_name"] = notification.sender_display_name
    if notification.room_name:
        body["room_name"] = notification.room_name
    if notification.room_alias:
        body["room_alias"] = notification.room_alias
    if notification.user_is_target is not None:
        body["user_is_target"] = notification.user_is_target
    if include_content and notification.content:
        body["content"] = dict(notification.content)
    return {"notification": body}


def webpush_payload(
    notification: Notification, pusher: Pusher, *, include_content: bool
) -> dict[str, Any]:
    """The JSON a Web Push subscription receives (README "Notifications"):
    room_id, event_id, sender, unread and prio always; sender_display_name and
    room_name when known; body (at most 200 characters) unless content is
    withheld (`push_include_content: false`, or `format: event_id_only`)."""
    minimal = pusher.data.get("format") == EVENT_ID_ONLY
    payload: dict[str, Any] = {
        "room_id": notification.room_id,
        "event_id": notification.event_id,
        "sender": notification.sender,
    }
    if not minimal:
        if notification.sender_display_name:
            payload["sender_display_name"] = _clip(notification.sender_display_name, NAME_CHARS)
        if notification.room_name:
            payload["room_name"] = _clip(notification.room_name, NAME_CHARS)
        body = notification.content.get("body")
        if include_content and isinstance(body, str) and body:
            payload["body"] = _clip(body, PREVIEW_CHARS)
    payload["unread"] = notification.unread
    payload["prio"] = notification.prio
    return payload
