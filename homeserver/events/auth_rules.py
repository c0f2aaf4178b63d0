"""The room version 11 authorisation rules as a pure function (spec rooms/v11).

``check_auth(event, auth_state)`` raises :class:`AuthError` when ``event`` is not allowed
given ``auth_state``, the room state before the event (at least the entries named by
:func:`auth_types_for_event`). Signature and hash checks are not part of these rules;
run them first, as the spec's checks on receipt of a PDU describe.
"""

from collections.abc import Mapping
from typing import Any

from homeserver.events.auth_selection import auth_types_for_event
from homeserver.events.errors import AuthError
from homeserver.events.identifiers import is_valid_user_id, server_name_of
from homeserver.events.membership_rules import check_membership
from homeserver.events.power_level_rules import check_power_levels_change
from homeserver.events.power_levels import (
    NAMED_LEVEL_DEFAULTS,
    get_named_level,
    get_required_level_for_event,
    get_user_power_level,
)
from homeserver.events.state import StateMap, content_of, create_event, membership_of

__all__ = [
    "KNOWN_ROOM_VERSIONS",
    "AuthError",
    "StateMap",
    "auth_types_for_event",
    "check_auth",
    "get_named_level",
    "get_required_level_for_event",
    "get_user_power_level",
]

KNOWN_ROOM_VERSIONS = frozenset(str(version) for version in range(1, 12))
"""Room versions recognised in ``m.room.create`` content (rule 1.3)."""


def check_auth(event: Mapping[str, Any], auth_state: StateMap) -> None:
    """Raise AuthError unless ``event`` passes the room version 11 authorisation rules."""
    event_type, sender = _check_shape(event)
    if event_type == "m.room.create":
        _check_create(event, sender)
        return
    _check_auth_state(event, auth_state)
    _check_federation_allowed(sender, auth_state)
    if event_type == "m.room.member":
        check_membership(event, auth_state)
        return
    if membership_of(sender, auth_state) != "join":
        raise AuthError(f"{sender} is not joined to the room")
    sender_level = get_user_power_level(sender, auth_state)
    if event_type == "m.room.third_party_invite":
        invite_level = get_named_level("invite", auth_state, NAMED_LEVEL_DEFAULTS["invite"])
        if sender_level < invite_level:
            raise AuthError(f"{sender} does not have power to invite (needs {invite_level})")
        return
    is_state = "state_key" in event
    required = get_required_level_for_event(event_type, is_state, auth_state)
    if sender_level < required:
        raise AuthError(f"{sender} needs power level {required} to send {event_type}")
    state_key = event.get("state_key")
    if isinstance(state_key, str) and state_key.startswith("@") and state_key != sender:
        raise AuthError(f"{sender} cannot set state with state_key {state_key}")
    if event_type == "m.room.power_levels":
        check_power_levels_change(event, auth_state)


def _check_shape(event: Mapping[str, Any]) -> tuple[str, str]:
    event_type, sender = event.get("type"), event.get("sender")
    if not isinstance(event_type, str):
        raise AuthError("event has no type")
    if not is_valid_user_id(sender):
        raise AuthError("event has no valid sender")
    if not isinstance(event.get("room_id"), str):
        raise AuthError("event has no room_id")
    if "state_key" in event and not isinstance(event["state_key"], str):
        raise AuthError("state_key must be a string")
    return event_type, sender


def _check_create(event: Mapping[str, Any], sender: str) -> None:
    if event.get("prev_events"):
        raise AuthError("m.room.create must not have prev_events")
    try:
        room_server = server_name_of(str(event["room_id"]))
    except ValueError as exc:
        raise AuthError("m.room.create room_id has no server name") from exc
    if room_server != server_name_of(sender):
        raise AuthError("m.room.create room_id and sender are on different servers")
    content = content_of(event)
    if "room_version" in content and content["room_version"] not in KNOWN_ROOM_VERSIONS:
        raise AuthError(f"unknown room version {content['room_version']!r}")


def _check_auth_state(event: Mapping[str, Any], auth_state: StateMap) -> None:
    if create_event(auth_state) is None:
        raise AuthError("no m.room.create event in the auth events")
    room_id = event["room_id"]
    for key in auth_types_for_event(event):
        auth_event = auth_state.get(key)
        if auth_event is not None and auth_event.get("room_id") != room_id:
            raise AuthError(f"auth event {key} belongs to another room")


def _check_federation_allowed(sender: str, auth_state: StateMap) -> None:
    create = create_event(auth_state)
    if create is None or content_of(create).get("m.federate", True) is not False:
        return
    creator = create.get("sender")
    if not isinstance(creator, str) or server_name_of(sender) != server_name_of(creator):
        raise AuthError("room does not allow events from other servers (m.federate is false)")
