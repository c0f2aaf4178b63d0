"""Authorisation of ``m.room.power_levels`` events (room version 11 rule 9, 12 rule 10)."""

from collections.abc import Mapping
from typing import Any

from homeserver.events.errors import AuthError
from homeserver.events.identifiers import is_valid_user_id
from homeserver.events.power_levels import get_user_power_level, parse_power_level, room_creators
from homeserver.events.room_versions import ROOM_V11, RoomVersion
from homeserver.events.state import StateMap, content_of, create_event, power_levels_content

__all__ = ["check_power_levels_change"]

_NAMED_LEVELS = (
    "users_default",
    "events_default",
    "state_default",
    "ban",
    "redact",
    "kick",
    "invite",
)
_LEVEL_MAPS = ("events", "notifications")
_MISSING = object()


def check_power_levels_change(
    event: Mapping[str, Any], auth_state: StateMap, room_version: RoomVersion = ROOM_V11
) -> None:
    """Raise AuthError if the new power levels are malformed or exceed the sender's power.

    From room version 12 they may not name the room's creators either: their power is
    infinite and not the power levels' to give.
    """
    new = content_of(event)
    _validate(new)
    if room_version.creators_have_infinite_power:
        listed = room_creators(create_event(auth_state)).intersection(new.get("users", {}))
        if listed:
            raise AuthError(f"power levels may not list the room's creators: {sorted(listed)}")
    old = power_levels_content(auth_state)
    if old is None:
        return
    sender = str(event["sender"])
    sender_level = get_user_power_level(sender, auth_state)
    for name in _NAMED_LEVELS:
        _check_change(name, old.get(name, _MISSING), new.get(name, _MISSING), sender_level)
    for map_name in _LEVEL_MAPS:
        _check_map_changes(map_name, old.get(map_name), new.get(map_name), sender_level)
    _check_user_changes(old.get("users"), new.get("users"), sender, sender_level)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(content: Mapping[str, Any]) -> None:
    for name in _NAMED_LEVELS:
        if name in content and not _is_int(content[name]):
            raise AuthError(f"power level {name!r} must be an integer")
    for map_name in (*_LEVEL_MAPS, "users"):
        if map_name in content and not _is_int_map(content[map_name]):
            raise AuthError(f"power levels {map_name!r} must be an object of integers")
    users = content.get("users", {})
    for user_id in users:
        if not is_valid_user_id(user_id):
            raise AuthError(f"power levels 'users' key {user_id!r} is not a user ID")


def _is_int_map(value: object) -> bool:
    return isinstance(value, Mapping) and all(_is_int(item) for item in value.values())


def _level(value: object) -> int | None:
    """An existing (possibly legacy string) level, or ``None`` if absent or unreadable."""
    return None if value is _MISSING else parse_power_level(value)


def _unchanged(old: object, new: object, old_level: int | None, new_level: int | None) -> bool:
    return (old is _MISSING) == (new is _MISSING) and old_level == new_level


def _check_change(label: str, old: object, new: object, sender_level: int) -> None:
    old_level, new_level = _level(old), _level(new)
    if _unchanged(old, new, old_level, new_level):
        return
    if old_level is not None and old_level > sender_level:
        raise AuthError(f"cannot change {label}: current value {old_level} exceeds own level")
    if new_level is not None and new_level > sender_level:
        raise AuthError(f"cannot set {label} to {new_level}: exceeds own level {sender_level}")


def _entries(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _check_map_changes(map_name: str, old: object, new: object, sender_level: int) -> None:
    old_map, new_map = _entries(old), _entries(new)
    for key in {*old_map, *new_map}:
        label = f"{map_name}[{key!r}]"
        _check_change(label, old_map.get(key, _MISSING), new_map.get(key, _MISSING), sender_level)


def _check_user_changes(old: object, new: object, sender: str, sender_level: int) -> None:
    old_map, new_map = _entries(old), _entries(new)
    for user_id in {*old_map, *new_map}:
        old_value = old_map.get(user_id, _MISSING)
        new_value = new_map.get(user_id, _MISSING)
        old_level, new_level = _level(old_value), _level(new_value)
        if _unchanged(old_value, new_value, old_level, new_level):
            continue
        if user_id != sender and old_level is not None and old_level >= sender_level:
            raise AuthError(f"cannot change the level of {user_id}: not below own level")
        if new_level is not None and new_level > sender_level:
            raise AuthError(f"cannot give {user_id} level {new_level}: exceeds own level")
