"""The room version 11 redaction algorithm (spec "Redactions", rooms/v11)."""

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["redact_event"]

_KEPT_TOP_LEVEL_KEYS = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "auth_events",
        "origin_server_ts",
    }
)

_KEPT_CONTENT_KEYS: Mapping[str, frozenset[str]] = {
    "m.room.member": frozenset({"membership", "join_authorised_via_users_server"}),
    "m.room.join_rules": frozenset({"join_rule", "allow"}),
    "m.room.power_levels": frozenset(
        {
            "ban",
            "events",
            "events_default",
            "invite",
            "kick",
            "redact",
            "state_default",
            "users",
            "users_default",
        }
    ),
    "m.room.history_visibility": frozenset({"history_visibility"}),
    "m.room.redaction": frozenset({"redacts"}),
}


def redact_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """Return a redacted deep copy of ``event`` following the room version 11 rules.

    Top-level keys outside the protected list (including ``unsigned``) are dropped, and
    ``content`` keeps only the keys protected for the event's type. The result always has a
    ``content`` object, as other implementations produce. ``event`` is never mutated.
    """
    redacted = {
        key: copy.deepcopy(value)
        for key, value in event.items()
        if key in _KEPT_TOP_LEVEL_KEYS and key != "content"
    }
    content = event.get("content")
    if not isinstance(content, Mapping):
        content = {}
    redacted["content"] = _redact_content(event.get("type"), content)
    return redacted


def _redact_content(event_type: object, content: Mapping[str, Any]) -> dict[str, Any]:
    if event_type == "m.room.create":
        return copy.deepcopy(dict(content))
    kept_keys = (
        _KEPT_CONTENT_KEYS.get(event_type, frozenset()) if isinstance(event_type, str) else ()
    )
    new_content = {key: copy.deepcopy(value) for key, value in content.items() if key in kept_keys}
    if event_type == "m.room.member":
        third_party_invite = content.get("third_party_invite")
        if isinstance(third_party_invite, Mapping):
            # Only the ``signed`` part survives; an invite without it keeps an empty object,
            # matching other implementations so reference hashes agree.
            kept: dict[str, Any] = {}
            if "signed" in third_party_invite:
                kept["signed"] = copy.deepcopy(third_party_invite["signed"])
            new_content["third_party_invite"] = kept
    return new_content
