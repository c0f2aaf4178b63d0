"""The request of POST /search (its `room_events` criteria) and its
`next_batch` tokens, checked: anything malformed is a 400, never a 500."""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from homeserver.errors import MatrixError
from homeserver.events.search_text import SEARCH_KEYS
from homeserver.handlers.filters import EventFilter

DEFAULT_PAGE = 10
MAX_PAGE = 100
DEFAULT_CONTEXT = 5
MAX_CONTEXT = 50
GROUP_KEYS = ("room_id", "sender")


def _bad(message: str) -> MatrixError:
    return MatrixError(400, "M_BAD_JSON", message)


def _no_nul(value: str, name: str) -> str:
    # PostgreSQL text cannot hold NUL; such input would otherwise fail there.
    if "\x00" in value:
        raise MatrixError(400, "M_INVALID_PARAM", f"{name} must not contain NUL characters")
    return value


def _no_nulls(raw: dict[str, Any], keys: tuple[str, ...], name: str) -> None:
    """The spec has no nullable field here: a field is its type or absent."""
    for key in keys:
        if key in raw and raw[key] is None:
            raise _bad(f"{name}.{key} must not be null (leave it out instead)")


def _object(raw: dict[str, Any], key: str, name: str) -> dict[str, Any] | None:
    if key not in raw:
        return None
    value = raw[key]
    if not isinstance(value, dict):  # null too: the spec has no nullable fields here
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
        _no_nulls(raw, ("before_limit", "after_limit", "include_profile"), name)
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
        _no_nulls(
            raw,
            ("keys", "filter", "order_by", "event_context", "include_state", "groupings"),
            "room_events",
        )
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
        _no_nulls(groupings, ("group_by",), "room_events.groupings")
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


# A next_batch token: `v2.<upto>.<stream ordering>.<rank>`, then
# `~<room_id|sender>~<id>` for a group's own next_batch. Every string of this
# grammar (spec/openapi.yaml's `next_batch` pattern says the same) is a token
# the server accepts: it names a position, and a position is never invalid.
# The rank is that of the last result (pages by rank go on from it, pages by
# time from the stream ordering alone), so a token fits either order.
_TOKEN = re.compile(
    r"v2\.(?P<upto>[0-9]{1,18})\.(?P<stream>-?[0-9]{1,18})"
    r"\.(?P<rank>-?[0-9]{1,17}(?:\.[0-9]{1,21})?(?:e[+-][0-9]{2,3})?)"
    r"(?:~(?P<group>room_id|sender)~(?P<id>[\x21-\x7e]{1,255}))?"
)


@dataclass(frozen=True)
class SearchToken:
    """Where a page of results ended. `upto` is the stream position the first
    page was cut at, kept by every later page; `scope` narrows the search to
    one group (("room_id", id) or ("sender", id)) for a group's next_batch."""

    upto: int
    stream_ordering: int
    rank: float
    scope: tuple[str, str] | None = None

    def serialize(self) -> str:
        text = f"v2.{self.upto}.{self.stream_ordering}.{_finite(self.rank)!r}"
        if self.scope is not None:
            text += f"~{self.scope[0]}~{self.scope[1]}"
        return text

    @classmethod
    def parse(cls, text: str) -> SearchToken:
        found = _TOKEN.fullmatch(text)
        if found is None:
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid next_batch")
        return cls(
            upto=int(found["upto"]),
            stream_ordering=int(found["stream"]),
            rank=_finite(float(found["rank"])),
            scope=None if found["group"] is None else (found["group"], found["id"]),
        )


def _finite(value: float) -> float:
    """Ranks are finite; `9e+999` in a token reads as the largest float."""
    if math.isnan(value):
        return 0.0
    return max(-sys.float_info.max, min(sys.float_info.max, value))
