"""Room IDs and event IDs as room version 12 ties them together (MSC4291).

From room version 12 a room's ID is its ``m.room.create`` event's ID with the sigil
``!`` instead of ``$``, and the create event itself carries no ``room_id``.
"""

from collections.abc import Mapping
from typing import Any

from homeserver.events.hashing import compute_reference_hash_event_id

__all__ = [
    "create_event_id_for_room",
    "event_id_of",
    "room_id_for_create_event",
    "room_id_of",
]


def event_id_of(event: Mapping[str, Any]) -> str:
    """The event's ID: the ``event_id`` stored with it, else its reference hash."""
    event_id = event.get("event_id")
    return event_id if isinstance(event_id, str) else compute_reference_hash_event_id(event)


def room_id_for_create_event(create: Mapping[str, Any]) -> str:
    """The room ID a room version 12 create event defines: ``!`` + its reference hash."""
    return "!" + event_id_of(create)[1:]


def create_event_id_for_room(room_id: str) -> str:
    """The ID of the create event of a room version 12 room (``$`` + the room ID's hash)."""
    return "$" + room_id[1:]


def room_id_of(event: Mapping[str, Any]) -> str | None:
    """The room an event belongs to: its ``room_id``, or for a room version 12 create
    event (which has none) the ID derived from the event itself."""
    room_id = event.get("room_id")
    if isinstance(room_id, str):
        return room_id
    if (
        event.get("type") == "m.room.create"
        and event.get("state_key") == ""
        and "room_id" not in event
    ):
        return room_id_for_create_event(event)
    return None
