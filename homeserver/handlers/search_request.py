"""The request of POST /search (its `room_events` criteria) and its
`next_batch` tokens, checked: anything malformed is a 400, never a 500."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson

from homeserver.errors import MatrixError
from homeserver.events.search_text import SEARCH_KEYS
from homeserver.handlers.filters import EventFilter

DEFAULT_PAGE = 10
MAX_PAGE = 100
DEFAULT_CONTEXT = 5
MAX_CONTEXT = 50
GROUP_KEYS = ("room_id", "sender")

_TOKEN_PREFIX = "v1_"
_MAX_TOKEN = 2048


def _bad(message: str) -> MatrixError:
    return MatrixError(400, "M_BAD_JSON", message)


def _no_nul(value: str, name: str) -> str:
    # PostgreSQL text cannot hold NUL; such input would otherwise fail there.
    if "\x00" in value:
        raise MatrixError(400, "M_INVALID_PARAM", f"{name} must not contain NUL characters")
    return value


def _object(raw: dict[str, Any], key: str, name: str) -> dict[str, Any] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad(f"{name} must be an object")
    return value


def _bool(raw: dict[str, Any], key: str, name: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise _bad(f"{name} must be a boolean")
    return value


def _count(raw: dict[str, Any], key: str, name: str, default: int, maximum: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(f"{name} must be a non-negative integer")
    return min(value, maximum)


@dataclass(frozen=True)
class EventContext:
    before_limit: int = DEFAULT_CONTEXT
    after_limit: int = DEFAULT_CONTEXT
    include_profile: bool = False

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> EventContext:
        name = "event_context"
        return cls(
            before_limit=_count(
                raw, "before_limit", f"{name}.before_limit", DEFAULT_CONTEXT, MAX_CONTEXT
            ),
            after_limit=_count(
                raw, "after_limit", f"{name}.after_limit", DEFAULT_CONTEXT, MAX_CONTEXT
            ),
            include_profile=_bool(raw, "include_profile", f"{name}.include_profile"),
        )


@dataclass(frozen=True)
class RoomEventsCriteria:
    search_term: str
    keys: tuple[str, ...] = tuple(SEARCH_KEYS)
    event_filter: EventFilter = field(default_factory=EventFilter)
    by_rank: bool = True
    context: EventContext | None = None
    include_state: bool = False
    group_by: tuple[str, ...] = ()

    @property
    def page_size(self) -> int:
        limit = self.event_filter.limit
        return DEFAULT_PAGE if limit is None else max(1, min(limit, MAX_PAGE))

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> RoomEventsCriteria:
        term = raw.get("search_term")
        if not isinstance(term, str):
            raise _bad("room_events.search_term must be a string")
        keys = raw.get("keys", list(SEARCH_KEYS))
        if not isinstance(keys, list) or not all(
            isinstance(k, str) and k in SEARCH_KEYS for k in keys
        ):
            raise _bad(f"room_events.keys must be a list of {', '.join(SEARCH_KEYS)}")
        order = raw.get("order_by", "rank")
        if order not in ("rank", "recent"):
            raise _bad("room_events.order_by must be rank or recent")
        event_filter = EventFilter.parse(raw.get("filter"), "room_events.filter")
        for values, name in (
            (event_filter.rooms, "rooms"),
            (event_filter.not_rooms, "not_rooms"),
            (event_filter.senders, "senders"),
            (event_filter.not_senders, "not_senders"),
            (event_filter.types, "types"),
            (event_filter.not_types, "not_types"),
        ):
            for value in values or ():
                _no_nul(value, f"room_events.filter.{name}")
        context = _object(raw, "event_context", "room_events.event_context")
        groupings = _object(raw, "groupings", "room_events.groupings") or {}
        group_by = groupings.get("group_by", [])
        if not isinstance(group_by, list) or not all(
            isinstance(g, dict) and isinstance(g.get("key"), str) and g["key"] in GROUP_KEYS
            for g in group_by
        ):
            raise _bad("room_events.groupings.group_by must be a list of {key: room_id|sender}")
        return cls(
            search_term=_no_nul(term, "search_term"),
            keys=tuple(dict.fromkeys(keys)),
            event_filter=event_filter,
            by_rank=order == "rank",
            context=None if context is None else EventContext.parse(context),
            include_state=_bool(raw, "include_state", "room_events.include_state"),
            group_by=tuple(dict.fromkeys(str(g["key"]) for g in group_by)),
        )


def parse_search_body(body: dict[str, Any]) -> RoomEventsCriteria | None:
    """The room_events criteria of the request, or None when it asks for none."""
    categories = body.get("search_categories")
    if not isinstance(categories, dict):
        raise _bad("search_categories must be an object")
    room_events = _object(categories, "room_events", "search_categories.room_events")
    return None if room_events is None else RoomEventsCriteria.parse(room_events)


@dataclass(frozen=True)
class SearchToken:
    """Where a page of results ended. `upto` is the stream position the first
    page was cut at, kept by every later page; `scope` narrows the search to
    one group (("room_id", id) or ("sender", id)) for a group's next_batch."""

    by_rank: bool
    upto: int
    stream_ordering: int
    rank: float | None = None
    scope: tuple[str, str] | None = None

    def serialize(self) -> str:
        fields: dict[str, Any] = {
            "o": "rank" if self.by_rank else "recent",
            "u": self.upto,
            "s": self.stream_ordering,
        }
        if self.rank is not None:
            fields["r"] = self.rank
        if self.scope is not None:
            fields["g"] = list(self.scope)
        encoded = base64.urlsafe_b64encode(orjson.dumps(fields)).rstrip(b"=").decode()
        return _TOKEN_PREFIX + encoded

    @classmethod
    def parse(cls, text: str) -> SearchToken:
        invalid = MatrixError(400, "M_INVALID_PARAM", "Invalid next_batch")
        if not text.startswith(_TOKEN_PREFIX) or len(text) > _MAX_TOKEN:
            raise invalid
        encoded = text[len(_TOKEN_PREFIX) :]
        try:
            fields = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        except (binascii.Error, ValueError) as exc:
            raise invalid from exc
        if not isinstance(fields, dict) or fields.get("o") not in ("rank", "recent"):
            raise invalid
        upto, position, rank, scope = fields.get("u"), fields.get("s"), fields.get("r"), None
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (upto, position)):
            raise invalid
        if (rank is None) != (fields["o"] == "recent"):
            raise invalid  # rank order needs the rank to go on from, recent none
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, (int, float))):
            raise invalid
        raw_scope = fields.get("g")
        if raw_scope is not None:
            if (
                not isinstance(raw_scope, list)
                or len(raw_scope) != 2
                or not isinstance(raw_scope[0], str)
                or raw_scope[0] not in GROUP_KEYS
                or not isinstance(raw_scope[1], str)
                or "\x00" in raw_scope[1]
            ):
                raise invalid
            scope = (str(raw_scope[0]), str(raw_scope[1]))
        return cls(
            by_rank=fields["o"] == "rank",
            upto=int(upto),  # type: ignore[arg-type]
            stream_ordering=int(position),  # type: ignore[arg-type]
            rank=None if rank is None else float(rank),
            scope=scope,
        )
