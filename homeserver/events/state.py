"""Read-only accessors for the room state that the authorisation rules look at."""

from collections.abc import Mapping
from typing import Any

__all__ = [
    "StateMap",
    "content_of",
    "create_event",
    "join_rule",
    "membership_of",
    "power_levels_content",
]

StateMap = Mapping[tuple[str, str], Mapping[str, Any]]
"""Room state keyed by ``(event_type, state_key)``; values are full event dicts."""

_NO_CONTENT: Mapping[str, Any] = {}


def content_of(event: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The event's ``content`` object, or an empty mapping if absent or malformed."""
    if event is None:
        return _NO_CONTENT
    content = event.get("content")
    return content if isinstance(content, Mapping) else _NO_CONTENT


def create_event(auth_state: StateMap) -> Mapping[str, Any] | None:
    return auth_state.get(("m.room.create", ""))


def power_levels_content(auth_state: StateMap) -> Mapping[str, Any] | None:
    """Content of the current ``m.room.power_levels`` event, or ``None`` if there is none."""
    event = auth_state.get(("m.room.power_levels", ""))
    return None if event is None else content_of(event)


def membership_of(user_id: str, auth_state: StateMap) -> str | None:
    """The user's current membership (``join``, ``invite``, ...), or ``None``."""
    membership = content_of(auth_state.get(("m.room.member", user_id))).get("membership")
    return membership if isinstance(membership, str) else None


def join_rule(auth_state: StateMap) -> str:
    """The room's join rule; ``invite`` when there is no ``m.room.join_rules`` event."""
    rule = content_of(auth_state.get(("m.room.join_rules", ""))).get("join_rule")
    return rule if isinstance(rule, str) else "invite"
