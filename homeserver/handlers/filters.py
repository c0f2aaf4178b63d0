"""Matrix event filters (/user/{id}/filter and the sync `filter` parameter)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homeserver.errors import MatrixError
from homeserver.handlers.identifiers import is_room_id, is_user_id
from homeserver.storage.events import StoredEvent

DEFAULT_TIMELINE_LIMIT = 10
MAX_TIMELINE_LIMIT = 500


def _string_list(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MatrixError(400, "M_BAD_JSON", f"Filter field {name} must be a list of strings")
    return list(value)


def _id_list(value: Any, name: str, valid: Callable[[str], bool], what: str) -> list[str] | None:
    """A list of room ids or user ids (as the spec's filter says; a string
    that is not one could never match anyway)."""
    found = _string_list(value, name)
    for item in found or ():
        if not valid(item):
            raise MatrixError(
                400, "M_BAD_JSON", f"Filter field {name}: {item[:64]!r} is not a {what}"
            )
    return found


def _rooms(value: Any, name: str) -> list[str] | None:
    return _id_list(value, name, is_room_id, "room id")


def _users(value: Any, name: str) -> list[str] | None:
    return _id_list(value, name, is_user_id, "user id")


# The boolean fields of a room event filter (the spec's RoomEventFilter).
_FLAGS = (
    "contains_url",
    "lazy_load_members",
    "include_redundant_members",
    "unread_thread_notifications",
)


_FIELDS = ("limit", "types", "not_types", "senders", "not_senders", "rooms", "not_rooms", *_FLAGS)


def _flag(raw: dict[str, Any], key: str, name: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise MatrixError(400, "M_BAD_JSON", f"Filter field {name}.{key} must be true or false")
    return value


def _matches(patterns: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) if "*" in p else value == p for p in patterns)


@dataclass(frozen=True)
class EventFilter:
    limit: int | None = None
    types: list[str] | None = None
    not_types: list[str] = field(default_factory=list)
    senders: list[str] | None = None
    not_senders: list[str] = field(default_factory=list)
    rooms: list[str] | None = None
    not_rooms: list[str] = field(default_factory=list)
    lazy_load_members: bool = False

    @classmethod
    def parse(cls, raw: Any, name: str) -> EventFilter:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise MatrixError(400, "M_BAD_JSON", f"Filter {name} must be an object")
        for key in _FIELDS:
            # As in Synapse's filter schema: a field is its type or absent.
            if key in raw and raw[key] is None:
                raise MatrixError(400, "M_BAD_JSON", f"Filter field {name}.{key} must not be null")
        limit = raw.get("limit")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise MatrixError(400, "M_BAD_JSON", f"{name}.limit must be a non-negative integer")
        flags = {key: _flag(raw, key, name) for key in _FLAGS}
        return cls(
            limit=limit,
            types=_string_list(raw.get("types"), f"{name}.types"),
            not_types=_string_list(raw.get("not_types"), f"{name}.not_types") or [],
            senders=_users(raw.get("senders"), f"{name}.senders"),
            not_senders=_users(raw.get("not_senders"), f"{name}.not_senders") or [],
            rooms=_rooms(raw.get("rooms"), f"{name}.rooms"),
            not_rooms=_rooms(raw.get("not_rooms"), f"{name}.not_rooms") or [],
            lazy_load_members=flags["lazy_load_members"],
        )

    def allows_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms

    def allows_type_and_sender(self, event_type: str, sender: str | None) -> bool:
        if _matches(self.not_types, event_type):
            return False
        if self.types is not None and not _matches(self.types, event_type):
            return False
        if sender is not None:
            if sender in self.not_senders:
                return False
            if self.senders is not None and sender not in self.senders:
                return False
        return True

    def allows(self, event: StoredEvent) -> bool:
        return self.allows_room(event.room_id) and self.allows_type_and_sender(
            event.type, event.event.get("sender")
        )

    def timeline_limit(self) -> int:
        if self.limit is None:
            return DEFAULT_TIMELINE_LIMIT
        return max(1, min(self.limit, MAX_TIMELINE_LIMIT))

    @property
    def is_noop(self) -> bool:
        return (
            self.types is None
            and not self.not_types
            and self.senders is None
            and not self.not_senders
            and self.rooms is None
            and not self.not_rooms
        )


@dataclass(frozen=True)
class SyncFilter:
    timeline: EventFilter = field(default_factory=EventFilter)
    state: EventFilter = field(default_factory=EventFilter)
    room_account_data: EventFilter = field(default_factory=EventFilter)
    account_data: EventFilter = field(default_factory=EventFilter)
    presence: EventFilter = field(default_factory=EventFilter)
    ephemeral: EventFilter = field(default_factory=EventFilter)
    rooms: EventFilter = field(default_factory=EventFilter)
    include_leave: bool = False

    @classmethod
    def parse(cls, raw: Any) -> SyncFilter:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise MatrixError(400, "M_BAD_JSON", "A filter must be a JSON object")
        room = raw.get("room", {})
        if not isinstance(room, dict):
            raise MatrixError(400, "M_BAD_JSON", "Filter field room must be an object")
        event_fields = raw.get("event_fields")
        if event_fields is not None:
            _string_list(event_fields, "event_fields")
        event_format = raw.get("event_format", "client")
        if event_format not in ("client", "federation"):
            raise MatrixError(400, "M_BAD_JSON", "event_format must be client or federation")
        return cls(
            timeline=EventFilter.parse(room.get("timeline"), "room.timeline"),
            state=EventFilter.parse(room.get("state"), "room.state"),
            room_account_data=EventFilter.parse(room.get("account_data"), "room.account_data"),
            ephemeral=EventFilter.parse(room.get("ephemeral"), "room.ephemeral"),
            account_data=EventFilter.parse(raw.get("account_data"), "account_data"),
            presence=EventFilter.parse(raw.get("presence"), "presence"),
            rooms=EventFilter(
                rooms=_rooms(room.get("rooms"), "room.rooms"),
                not_rooms=_rooms(room.get("not_rooms"), "room.not_rooms") or [],
            ),
            include_leave=bool(room.get("include_leave", False)),
        )
