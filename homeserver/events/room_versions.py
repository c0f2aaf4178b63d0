"""The room versions this server implements, and what differs between them.

Room version 12 builds on 11 with three changes: room IDs are the create event's
reference hash (MSC4291), the room's creators have infinite power (MSC4289), and
state resolution starts its iterative auth checks from an empty state and replays
the conflicted state subgraph (MSC4297, "state resolution v2.1").
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_ROOM_VERSION",
    "KNOWN_ROOM_VERSIONS",
    "ROOM_V11",
    "ROOM_V12",
    "SUPPORTED_ROOM_VERSIONS",
    "RoomVersion",
    "UnsupportedRoomVersionError",
    "get_room_version",
    "room_version_of_create",
]


@dataclass(frozen=True)
class RoomVersion:
    identifier: str
    room_id_is_create_event_hash: bool
    """MSC4291: the room ID is the create event's ID with ``!``; the create event has no
    ``room_id`` and is never selected as an auth event (it is implied by the room ID)."""
    creators_have_infinite_power: bool
    """MSC4289: the create event's sender and ``additional_creators`` outrank everyone
    and may not appear in ``m.room.power_levels``."""
    state_res_v2_1: bool
    """MSC4297: iterative auth checks start from an empty state; the full conflicted set
    includes the conflicted state subgraph."""


ROOM_V11 = RoomVersion(
    "11",
    room_id_is_create_event_hash=False,
    creators_have_infinite_power=False,
    state_res_v2_1=False,
)
ROOM_V12 = RoomVersion(
    "12",
    room_id_is_create_event_hash=True,
    creators_have_infinite_power=True,
    state_res_v2_1=True,
)

SUPPORTED_ROOM_VERSIONS: Mapping[str, RoomVersion] = {
    version.identifier: version for version in (ROOM_V11, ROOM_V12)
}
"""The versions whose rooms this server can create, join and authorise."""

DEFAULT_ROOM_VERSION = ROOM_V12

KNOWN_ROOM_VERSIONS = frozenset(str(version) for version in range(1, 13))
"""Room versions recognised in ``m.room.create`` content (auth rule 1.3)."""


class UnsupportedRoomVersionError(ValueError):
    """The room version is not one this server implements."""


def get_room_version(identifier: object) -> RoomVersion:
    """The implemented room version named ``identifier``.

    Raises:
        UnsupportedRoomVersionError: if this server does not implement it.
    """
    version = SUPPORTED_ROOM_VERSIONS.get(identifier) if isinstance(identifier, str) else None
    if version is None:
        raise UnsupportedRoomVersionError(f"room version {identifier!r} is not supported")
    return version


def room_version_of_create(create: Mapping[str, Any] | None) -> RoomVersion:
    """The version of the room an ``m.room.create`` event starts.

    Rooms of versions this server does not implement are read with the room version 11
    rules, which is what this server assumed before it knew of any other version.
    """
    content = create.get("content") if create is not None else None
    identifier = content.get("room_version", "1") if isinstance(content, Mapping) else "1"
    return (
        SUPPORTED_ROOM_VERSIONS.get(identifier, ROOM_V11)
        if isinstance(identifier, str)
        else ROOM_V11
    )
