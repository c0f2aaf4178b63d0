"""Reading power levels out of room state, with the spec's defaults.

These helpers are tolerant: missing keys fall back to the defaults from the
``m.room.power_levels`` schema and string values from old rooms (``"50"``) are parsed.
Validation of new power levels events is the job of the authorisation rules.
"""

from collections.abc import Mapping
from typing import Any

from homeserver.events.identifiers import is_valid_user_id
from homeserver.events.room_versions import room_version_of_create
from homeserver.events.state import StateMap, content_of, create_event, power_levels_content

__all__ = [
    "CREATOR_DEFAULT_LEVEL",
    "INFINITE_POWER_LEVEL",
    "NAMED_LEVEL_DEFAULTS",
    "as_power_level",
    "get_named_level",
    "get_required_level_for_event",
    "get_user_power_level",
    "parse_power_level",
    "room_creators",
]

CREATOR_DEFAULT_LEVEL = 100
INFINITE_POWER_LEVEL = 2**63
"""The power of room version 12 creators: above any level JSON can carry (2**53 - 1)."""
NAMED_LEVEL_DEFAULTS: Mapping[str, int] = {
    "ban": 50,
    "kick": 50,
    "redact": 50,
    "invite": 0,
    "state_default": 50,
    "events_default": 0,
    "users_default": 0,
}


def parse_power_level(value: object) -> int | None:
    """``value`` as an integer power level, or ``None`` if it is not one.

    Accepts integers and, for rooms predating room version 10, decimal strings.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_power_level(value: object, default: int) -> int:
    """``value`` as an integer power level, or ``default`` if it is not one."""
    parsed = parse_power_level(value)
    return default if parsed is None else parsed


def get_named_level(name: str, auth_state: StateMap, default: int) -> int:
    """A top-level level such as ``invite``, ``kick``, ``ban``, ``redact`` or ``state_default``.

    ``default`` applies when there is no power levels event or it lacks the key.
    """
    content = power_levels_content(auth_state)
    if content is None:
        return default
    return as_power_level(content.get(name), default)


def room_creators(create: Mapping[str, Any] | None) -> frozenset[str]:
    """The room's creators: the create event's sender and, from room version 12, the
    valid user IDs in its ``additional_creators``."""
    if create is None:
        return frozenset()
    sender = create.get("sender")
    creators = {sender} if isinstance(sender, str) else set()
    if room_version_of_create(create).creators_have_infinite_power:
        extra = content_of(create).get("additional_creators")
        if isinstance(extra, list):
            creators.update(user for user in extra if is_valid_user_id(user))
    return frozenset(creators)


def get_user_power_level(user_id: str, auth_state: StateMap) -> int:
    """The user's power level.

    From room version 12 the room's creators have :data:`INFINITE_POWER_LEVEL` whatever
    the power levels say. Without a power levels event, the room creator (the ``sender``
    of the create event, as of room version 11) has 100 and everyone else 0.
    """
    create = create_event(auth_state)
    creators_are_infinite = room_version_of_create(create).creators_have_infinite_power
    if creators_are_infinite and user_id in room_creators(create):
        return INFINITE_POWER_LEVEL
    content = power_levels_content(auth_state)
    if content is None:
        is_creator = create is not None and create.get("sender") == user_id
        return CREATOR_DEFAULT_LEVEL if is_creator else 0
    users_default = as_power_level(
        content.get("users_default"), NAMED_LEVEL_DEFAULTS["users_default"]
    )
    users = content.get("users")
    if isinstance(users, Mapping) and user_id in users:
        return as_power_level(users[user_id], users_default)
    return users_default


def get_required_level_for_event(event_type: str, is_state: bool, auth_state: StateMap) -> int:
    """The level needed to send an event of ``event_type``.

    ``events[event_type]`` if set, otherwise ``state_default`` (50) for state events or
    ``events_default`` (0) for other events. The defaults are the same whether or not a
    power levels event exists, per the current specification.
    """
    content = power_levels_content(auth_state)
    default_name = "state_default" if is_state else "events_default"
    default = get_named_level(default_name, auth_state, NAMED_LEVEL_DEFAULTS[default_name])
    if content is None:
        return default
    events: Any = content.get("events")
    if isinstance(events, Mapping) and event_type in events:
        return as_power_level(events[event_type], default)
    return default
