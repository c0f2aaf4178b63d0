"""Whether a redaction may be applied to its target event.

The authorisation rules accept ``m.room.redaction`` events like any other event (the
*redact* level is not part of them). Whether the redaction takes effect is decided here,
following the spec section "Handling redactions" (room versions 3 and later).
"""

from collections.abc import Mapping
from typing import Any

from homeserver.events.errors import AuthError
from homeserver.events.identifiers import server_name_of
from homeserver.events.power_levels import (
    NAMED_LEVEL_DEFAULTS,
    get_named_level,
    get_user_power_level,
)
from homeserver.events.room_ids import room_id_of
from homeserver.events.state import StateMap, content_of

__all__ = ["can_apply_redaction", "check_client_redaction", "redacted_event_id"]

_UNREDACTABLE_BY_CLIENTS = frozenset({"m.room.create", "m.room.server_acl"})


def redacted_event_id(redaction: Mapping[str, Any]) -> str | None:
    """The ID of the event a redaction targets (``content.redacts``, or the legacy top level)."""
    target = content_of(redaction).get("redacts", redaction.get("redacts"))
    return target if isinstance(target, str) else None


def _has_redact_power(user_id: str, auth_state: StateMap) -> bool:
    redact_level = get_named_level("redact", auth_state, NAMED_LEVEL_DEFAULTS["redact"])
    return get_user_power_level(user_id, auth_state) >= redact_level


def _same_room(redaction: Mapping[str, Any], original: Mapping[str, Any]) -> bool:
    return room_id_of(redaction) == room_id_of(original)


def can_apply_redaction(
    redaction: Mapping[str, Any], original: Mapping[str, Any], auth_state: StateMap
) -> bool:
    """Whether the server should apply ``redaction`` to ``original``.

    True if both are in the same room and either the redaction's sender has at least the
    *redact* level in ``auth_state`` (the state at the redaction) or the two senders are
    on the same server.
    """
    sender, original_sender = redaction.get("sender"), original.get("sender")
    if not isinstance(sender, str) or not isinstance(original_sender, str):
        return False
    if not _same_room(redaction, original):
        return False
    if _has_redact_power(sender, auth_state):
        return True
    try:
        return server_name_of(sender) == server_name_of(original_sender)
    except ValueError:
        return False


def check_client_redaction(
    redaction: Mapping[str, Any], original: Mapping[str, Any], auth_state: StateMap
) -> None:
    """Stricter check for redactions requested by a local client.

    A user may redact their own events, or anyone's with the *redact* level. Create and
    server ACL events cannot be redacted by clients.

    Raises:
        AuthError: if the redaction is not allowed.
    """
    sender = str(redaction.get("sender"))
    if not _same_room(redaction, original):
        raise AuthError("cannot redact an event from a different room")
    if original.get("type") in _UNREDACTABLE_BY_CLIENTS:
        raise AuthError(f"redacting {original.get('type')} events is not permitted")
    if original.get("sender") == sender or _has_redact_power(sender, auth_state):
        return
    raise AuthError(f"{sender} does not have permission to redact other users' events")
