"""The pure parts of search: visible ranges, tokens, indexed text, highlights."""

from __future__ import annotations

import random
import sys

import pytest

from homeserver.errors import MatrixError
from homeserver.events.search_text import highlights, searchable_text
from homeserver.handlers.search_request import SearchToken
from homeserver.handlers.visibility import RoomView, _Timeline

MEMBERSHIPS = ["join", "leave", "invite", "ban"]
VISIBILITIES = ["world_readable", "shared", "invited", "joined"]


def _random_view(rng: random.Random) -> RoomView:
    positions = sorted(rng.sample(range(1, 40), rng.randint(0, 10)))
    members: list[tuple[int, str]] = []
    history: list[tuple[int, str]] = []
    for position in positions:
        if rng.random() < 0.5:
            members.append((position, rng.choice(MEMBERSHIPS)))
        else:
            history.append((position, rng.choice(VISIBILITIES)))
    return RoomView(
        "@u:x",
        _Timeline([p for p, _ in members], [m for _, m in members]),
        _Timeline([p for p, _ in history], [v for _, v in history]),
    )


def _inside(ranges: list[tuple[int | None, int | None]], position: int) -> bool:
    return any(
        (lo is None or lo <= position) and (hi is None or position < hi) for lo, hi in ranges
    )


def test_visible_ranges_agree_with_can_see_everywhere() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        view = _random_view(rng)
        ranges = view.visible_ranges()
        for position in range(-2, 45):
            assert _inside(ranges, position) == view.can_see_position(position), (
                view,
                ranges,
                position,
            )
        # Ordered, disjoint and merged.
        bounds = [b for r in ranges for b in r]
        inner = bounds[1:-1]
        assert all(a is not None for a in inner)
        assert inner == sorted(inner) and len(set(inner)) == len(inner)


def test_a_member_who_joined_late_and_left_sees_one_range() -> None:
    view = RoomView(
        "@u:x",
        _Timeline([10, 20], ["join", "leave"]),
        _Timeline([1], ["joined"]),
    )
    # Up to and including the visibility event, the default (shared) applies.
    assert view.visible_ranges() == [(None, 2), (10, 20)]


def test_tokens_round_trip_and_refuse_garbage() -> None:
    token = SearchToken(upto=99, stream_ordering=42, rank=0.1 + 0.2, scope=None)
    assert SearchToken.parse(token.serialize()) == token
    scoped = SearchToken(7, 5, 1e-300, ("room_id", "!r~x:y"))
    assert SearchToken.parse(scoped.serialize()) == scoped
    for rank in (0.0, -0.5, 0.00012345678901234567, 1.2345678901234567e16, 1e300):
        assert SearchToken.parse(SearchToken(1, -2, rank).serialize()).rank == rank
    # The grammar's largest exponent is a position too (the largest float).
    assert SearchToken.parse("v2.1.2.9e+999").rank == sys.float_info.max
    for bad in [
        "",
        "v2",
        "v2.1.2",
        "v2.1.2.x",
        "v2.-1.2.0.5",
        "v2.1.2.0.5~room~!r:x",
        "v2.1.2.0.5~sender~",
        "v2.1.2.0.5~sender~a b",
        "v1_e30",
        "v2.1.2.0.5\n",
    ]:
        with pytest.raises(MatrixError) as raised:
            SearchToken.parse(bad)
        assert raised.value.errcode == "M_INVALID_PARAM"


def test_indexed_text() -> None:
    message = {"type": "m.room.message", "content": {"msgtype": "m.text", "body": "a\x00b "}}
    assert searchable_text(message) == ("content.body", "a b")
    assert searchable_text({"type": "m.room.message", "content": {"body": 5}}) is None
    assert searchable_text({"type": "m.room.encrypted", "content": {"ciphertext": "x"}}) is None
    name = {"type": "m.room.name", "state_key": "", "content": {"name": "Hall"}}
    assert searchable_text(name) == ("content.name", "Hall")
    assert searchable_text({**name, "state_key": "x"}) is None
    rich = {
        "type": "m.room.topic",
        "state_key": "",
        "content": {
            "m.topic": {
                "m.text": [
                    {"mimetype": "text/html", "body": "<b>Hi</b>"},
                    {"body": "Hi there"},
                ]
            }
        },
    }
    assert searchable_text(rich) == ("content.topic", "Hi there")


def test_highlights_are_the_words_the_terms_matched() -> None:
    found = highlights("meet Thu", ["Meeting on Thursday", "meetings, thus"])
    assert found == ["Thursday", "meetings", "Meeting", "meet", "thus", "thu"]
