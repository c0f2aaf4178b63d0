"""Room version 12: room IDs from the create event, creators' infinite power (MSC4289,
MSC4291) and the auth rules that change with them."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.events import (
    AuthError,
    auth_types_for_event,
    check_auth,
    compute_reference_hash,
    encode_base64_urlsafe,
    get_user_power_level,
    to_client_event,
)
from homeserver.events.power_levels import INFINITE_POWER_LEVEL
from homeserver.events.room_ids import (
    create_event_id_for_room,
    room_id_for_create_event,
    room_id_of,
)
from homeserver.events.room_versions import ROOM_V11, ROOM_V12

from .builders import ALICE, BOB, CAROL, MOD, make_event

DAVE = "@dave:example.org"  # an additional creator
StateMap = dict[tuple[str, str], dict[str, Any]]


def v12_create(sender: str = ALICE, **content: Any) -> dict[str, Any]:
    event = make_event(
        "m.room.create", sender, {"room_version": "12", **content}, state_key="", prev_events=[]
    )
    del event["room_id"]
    return event


class V12Room:
    """A room version 12 room: Alice created it with Dave as an additional creator; a
    moderator (50) and Bob (0) joined; Carol is a stranger."""

    def __init__(self, **create_content: Any) -> None:
        self.create = v12_create(**create_content)
        self.room_id = room_id_for_create_event(self.create)
        self.state: StateMap = {("m.room.create", ""): self.create}

    def event(
        self, event_type: str, sender: str, content: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return make_event(event_type, sender, content, room_id=self.room_id, **extra)

    def set(self, event: dict[str, Any]) -> V12Room:
        self.state[(event["type"], event.get("state_key", ""))] = event
        return self

    def join(self, *users: str) -> V12Room:
        for user in users:
            self.set(self.event("m.room.member", user, {"membership": "join"}, state_key=user))
        return self

    def allowed(self, event: dict[str, Any]) -> bool:
        try:
            check_auth(event, self.state, ROOM_V12)
        except AuthError:
            return False
        return True


def standard_v12_room() -> V12Room:
    room = V12Room(additional_creators=[DAVE]).join(ALICE, DAVE)
    levels = {"users": {MOD: 50}, "events": {"m.room.power_levels": 100, "m.room.tombstone": 150}}
    room.set(room.event("m.room.power_levels", ALICE, levels, state_key=""))
    room.set(room.event("m.room.join_rules", ALICE, {"join_rule": "public"}, state_key=""))
    return room.join(MOD, BOB)


def test_room_id_is_the_create_event_reference_hash() -> None:
    create = v12_create()
    room_id = room_id_for_create_event(create)
    assert room_id == "!" + encode_base64_urlsafe(compute_reference_hash(create))
    assert ":" not in room_id
    assert create_event_id_for_room(room_id) == "$" + room_id[1:]
    assert room_id_of(create) == room_id
    assert to_client_event(create)["room_id"] == room_id


def test_create_event_without_room_id_is_allowed() -> None:
    check_auth(v12_create(), {}, ROOM_V12)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"room_id": "!x:example.org"}, "must not have a room_id"),
        ({"content": {"room_version": "12", "additional_creators": DAVE}}, "additional_creators"),
        (
            {"content": {"room_version": "12", "additional_creators": ["dave"]}},
            "additional_creators",
        ),
        ({"content": {"room_version": "12", "additional_creators": [5]}}, "additional_creators"),
        ({"prev_events": ["$x"]}, "prev_events"),
        ({"content": {"room_version": "11"}}, "not for room version 12"),
    ],
)
def test_bad_create_events_are_rejected(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(AuthError, match=reason):
        check_auth({**v12_create(), **change}, {}, ROOM_V12)


def test_auth_events_selection_leaves_out_the_create_event() -> None:
    event = make_event("m.room.message", BOB, {"body": "hi"})
    assert ("m.room.create", "") not in auth_types_for_event(event, ROOM_V12)
    assert ("m.room.create", "") in auth_types_for_event(event, ROOM_V11)


def test_room_id_must_be_the_create_events() -> None:
    room = standard_v12_room()
    message = room.event("m.room.message", BOB, {"body": "hi"})
    assert room.allowed(message)
    elsewhere = {**message, "room_id": "!someotherroomhash"}
    with pytest.raises(AuthError, match="not the ID of the room's"):
        check_auth(elsewhere, room.state, ROOM_V12)


def test_a_v12_room_is_not_authorised_with_v11_rules() -> None:
    room = standard_v12_room()
    with pytest.raises(AuthError, match="not for room version 11"):
        check_auth(room.event("m.room.message", BOB, {}), room.state, ROOM_V11)


def test_creators_have_infinite_power() -> None:
    room = standard_v12_room()
    for creator in (ALICE, DAVE):
        assert get_user_power_level(creator, room.state) == INFINITE_POWER_LEVEL
    assert get_user_power_level(MOD, room.state) == 50
    assert get_user_power_level(BOB, room.state) == 0


def test_creators_have_infinite_power_without_power_levels() -> None:
    room = V12Room(additional_creators=[DAVE])
    assert get_user_power_level(ALICE, room.state) == INFINITE_POWER_LEVEL
    assert get_user_power_level(DAVE, room.state) == INFINITE_POWER_LEVEL
    assert get_user_power_level(BOB, room.state) == 0


def test_additional_creators_outside_v12_have_no_power() -> None:
    create = make_event(
        "m.room.create",
        ALICE,
        {"room_version": "11", "additional_creators": [DAVE]},
        state_key="",
        prev_events=[],
    )
    state = {("m.room.create", ""): create}
    assert get_user_power_level(ALICE, state) == 100
    assert get_user_power_level(DAVE, state) == 0


def test_an_additional_creator_can_do_what_needs_power() -> None:
    room = standard_v12_room()
    assert room.allowed(
        room.event("m.room.power_levels", DAVE, {"users": {BOB: 100}}, state_key="")
    )
    assert room.allowed(room.event("m.room.member", DAVE, {"membership": "ban"}, state_key=MOD))
    assert room.allowed(room.event("m.room.tombstone", DAVE, {}, state_key=""))
    assert not room.allowed(room.event("m.room.tombstone", MOD, {}, state_key=""))


def test_creators_cannot_be_kicked_or_banned_even_by_each_other() -> None:
    room = standard_v12_room()
    room.set(room.event("m.room.power_levels", ALICE, {"users": {MOD: 100}}, state_key=""))
    for sender, target in ((MOD, ALICE), (MOD, DAVE), (ALICE, DAVE), (DAVE, ALICE)):
        for membership in ("leave", "ban"):
            event = room.event(
                "m.room.member", sender, {"membership": membership}, state_key=target
            )
            assert not room.allowed(event), (sender, target, membership)


@pytest.mark.parametrize("creator", [ALICE, DAVE])
def test_power_levels_may_not_list_a_creator(creator: str) -> None:
    room = standard_v12_room()
    event = room.event("m.room.power_levels", ALICE, {"users": {creator: 100}}, state_key="")
    with pytest.raises(AuthError, match="may not list the room's creators"):
        check_auth(event, room.state, ROOM_V12)


def test_first_power_levels_may_not_list_the_creator_either() -> None:
    room = V12Room().join(ALICE)
    event = room.event("m.room.power_levels", ALICE, {"users": {ALICE: 100}}, state_key="")
    assert not room.allowed(event)
    assert room.allowed(
        room.event("m.room.power_levels", ALICE, {"users": {BOB: 100}}, state_key="")
    )


def test_power_levels_can_still_not_exceed_the_senders_level() -> None:
    room = standard_v12_room()
    room.set(
        room.event(
            "m.room.power_levels",
            ALICE,
            {"users": {MOD: 50}, "events": {"m.room.power_levels": 50}},
            state_key="",
        )
    )
    assert not room.allowed(
        room.event("m.room.power_levels", MOD, {"users": {MOD: 50, BOB: 60}}, state_key="")
    )
    assert room.allowed(
        room.event("m.room.power_levels", MOD, {"users": {MOD: 50, BOB: 40}}, state_key="")
    )


def test_creator_joins_first_and_strangers_cannot_send() -> None:
    room = V12Room()
    first_join = room.event(
        "m.room.member",
        ALICE,
        {"membership": "join"},
        state_key=ALICE,
        prev_events=[create_event_id_for_room(room.room_id)],
    )
    assert room.allowed(first_join)
    room = standard_v12_room()
    assert not room.allowed(room.event("m.room.message", CAROL, {"body": "hi"}))


def test_auth_state_from_another_room_is_rejected() -> None:
    room = standard_v12_room()
    other = V12Room(additional_creators=[DAVE])
    room.state[("m.room.member", BOB)] = other.event(
        "m.room.member", BOB, {"membership": "join"}, state_key=BOB
    )
    with pytest.raises(AuthError, match="another room"):
        check_auth(room.event("m.room.message", BOB, {}), room.state, ROOM_V12)
