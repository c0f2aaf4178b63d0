"""The authorisation rules of room versions 11 and 12 as a pure function (spec rooms/v11,
rooms/v12).

``check_auth(event, auth_state)`` raises :class:`AuthError` when ``event`` is not allowed
given ``auth_state``: the room state the event is checked against (its auth events, the
state before it or the current state), at least the entries named by
:func:`auth_types_for_event` plus the room's ``m.room.create`` event, which room version
12 never lists among auth events but which every rule needs. The room version is the
create event's unless given. Signature and hash checks are not part of these rules; run
them first, as the spec's checks on receipt of a PDU describe.
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
from homeserver.events.room_ids import room_id_for_create_event, room_id_of
from homeserver.events.room_versions import (
    KNOWN_ROOM_VERSIONS,
    RoomVersion,
    room_version_of_create,
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


def check_auth(
    event: Mapping[str, Any], auth_state: StateMap, room_version: RoomVersion | None = None
) -> None:
    """Raise AuthError unless ``event`` passes the authorisation rules of its room version."""
    event_type, sender = _check_shape(event)
    if event_type == "m.room.create":
        _check_create(event, sender, _version_of(event, room_version))
        return
    create = create_event(auth_state)
    if create is None:
        raise AuthError("no m.room.create event in the auth events")
    version = _version_of(create, room_version)
    room_id = _check_room_id(event, create, version)
    _check_auth_state(event, auth_state, room_id, version)
    _check_federation_allowed(sender, create)
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
        check_power_levels_change(event, auth_state, version)


def _version_of(create: Mapping[str, Any], given: RoomVersion | None) -> RoomVersion:
    declared = room_version_of_create(create)
    if given is not None and content_of(create).get("room_version", "1") != given.identifier:
        raise AuthError(f"the room's create event is not for room version {given.identifier}")
    return given or declared


def _check_shape(event: Mapping[str, Any]) -> tuple[str, str]:
    event_type, sender = event.get("type"), event.get("sender")
    if not isinstance(event_type, str):
        raise AuthError("event has no type")
    if not is_valid_user_id(sender):
        raise AuthError("event has no valid sender")
    if "room_id" in event and not isinstance(event["room_id"], str):
        raise AuthError("room_id must be a string")
    if "state_key" in event and not isinstance(event["state_key"], str):
        raise AuthError("state_key must be a string")
    return event_type, sender


def _check_create(event: Mapping[str, Any], sender: str, version: RoomVersion) -> None:
    if event.get("prev_events"):
        raise AuthError("m.room.create must not have prev_events")
    if version.room_id_is_create_event_hash:
        if "room_id" in event:
            raise AuthError("m.room.create must not have a room_id in this room version")
    else:
        _check_create_room_id_domain(event, sender)
    content = content_of(event)
    if "room_version" in content and content["room_version"] not in KNOWN_ROOM_VERSIONS:
        raise AuthError(f"unknown room version {content['room_version']!r}")
    if version.creators_have_infinite_power and "additional_creators" in content:
        extra = content["additional_creators"]
        if not isinstance(extra, list) or not all(is_valid_user_id(user) for user in extra):
            raise AuthError("additional_creators must be a list of user IDs")


def _check_create_room_id_domain(event: Mapping[str, Any], sender: str) -> None:
    room_id = event.get("room_id")
    if not isinstance(room_id, str):
        raise AuthError("event has no room_id")
    try:
        room_server = server_name_of(room_id)
    except ValueError as exc:
        raise AuthError("m.room.create room_id has no server name") from exc
    if room_server != server_name_of(sender):
        raise AuthError("m.room.create room_id and sender are on different servers")


def _check_room_id(
    event: Mapping[str, Any], create: Mapping[str, Any], version: RoomVersion
) -> str:
    room_id = event.get("room_id")
    if not isinstance(room_id, str):
        raise AuthError("event has no room_id")
    if version.room_id_is_create_event_hash and room_id != room_id_for_create_event(create):
        raise AuthError("room_id is not the ID of the room's m.room.create event")
    return room_id


def _check_auth_state(
    event: Mapping[str, Any], auth_state: StateMap, room_id: str, version: RoomVersion
) -> None:
    for key in (("m.room.create", ""), *auth_types_for_event(event, version)):
        auth_event = auth_state.get(key)
        if auth_event is not None and room_id_of(auth_event) != room_id:
            raise AuthError(f"auth event {key} belongs to another room")


def _check_federation_allowed(sender: str, create: Mapping[str, Any]) -> None:
    if content_of(create).get("m.federate", True) is not False:
        return
    creator = create.get("sender")
    if not isinstance(creator, str) or server_name_of(sender) != server_name_of(creator):
        raise AuthError("room does not allow events from other servers (m.federate is false)")
