"""Room version 11 authorisation rule 9 (m.room.power_levels) and the level helpers."""

from collections.abc import Callable
from typing import Any

import pytest

from homeserver.events import (
    get_named_level,
    get_required_level_for_event,
    get_user_power_level,
)

from .builders import ALICE, BOB, CAROL, MOD, MOD2, Room, empty_room, make_event, standard_room


def power_levels_event(sender: str, room: Room, **changes: Any) -> dict[str, Any]:
    content = {**room.power_levels(), **changes}
    return make_event("m.room.power_levels", sender, content, state_key="")


def room_where_mods_edit_power_levels() -> Room:
    room = standard_room()
    events = {**room.power_levels()["events"], "m.room.power_levels": 50}
    return room.set_power_levels(events=events)


Content = dict[str, Any]
USERS = {"alice": ALICE, "mod": MOD, "mod2": MOD2, "bob": BOB, "carol": CAROL}


def set_users(**levels: int | None) -> Callable[[Content], Content]:
    """New content with the given users' levels set (``None`` removes the entry)."""

    def change(content: Content) -> Content:
        users = dict(content["users"])
        for name, level in levels.items():
            if level is None:
                users.pop(USERS[name], None)
            else:
                users[USERS[name]] = level
        return {**content, "users": users}

    return change


def set_keys(**values: Any) -> Callable[[Content], Content]:
    return lambda content: {**content, **values}


def set_event_level(event_type: str, level: int | None) -> Callable[[Content], Content]:
    def change(content: Content) -> Content:
        events = dict(content["events"])
        if level is None:
            events.pop(event_type, None)
        else:
            events[event_type] = level
        return {**content, "events": events}

    return change


def remove_key(key: str) -> Callable[[Content], Content]:
    return lambda content: {k: v for k, v in content.items() if k != key}


# Alice is at 100, the moderators at 50 and Bob at 0; moderators may send power levels.
ESCALATION_CASES: list[tuple[str, str, Callable[[Content], Content], bool]] = [
    ("grant a user the sender's own level", MOD, set_users(bob=50), True),
    ("grant above own level", MOD, set_users(bob=51), False),
    ("add a new user above own level", MOD, set_users(carol=60), False),
    ("add a new user at own level", MOD, set_users(carol=50), True),
    ("demote a peer", MOD, set_users(mod2=0), False),
    ("remove a peer", MOD, set_users(mod2=None), False),
    ("demote the admin", MOD, set_users(alice=0), False),
    ("demote a lower user", MOD, set_users(bob=-1), True),
    ("demote oneself", MOD, set_users(mod=10), True),
    ("remove oneself", MOD, set_users(mod=None), True),
    ("promote oneself", MOD, set_users(mod=51), False),
    ("admin demotes moderator", ALICE, set_users(mod=0), True),
    ("lower the ban level", MOD, set_keys(ban=40), True),
    ("raise the ban level above own", MOD, set_keys(ban=60), False),
    ("add users_default above own", MOD, set_keys(users_default=51), False),
    ("remove state_default (value within reach)", MOD, remove_key("state_default"), True),
    ("set an event level above own", MOD, set_event_level("m.room.name", 75), False),
    ("set an event level at own", MOD, set_event_level("m.room.name", 50), True),
    (
        "remove an event level above own",
        MOD,
        set_event_level("m.room.history_visibility", None),
        False,
    ),
    (
        "change an event level above own",
        MOD,
        set_event_level("m.room.history_visibility", 50),
        False,
    ),
    (
        "admin removes an event level",
        ALICE,
        set_event_level("m.room.history_visibility", None),
        True,
    ),
    ("notifications above own", MOD, set_keys(notifications={"room": 75}), False),
    ("notifications within reach", MOD, set_keys(notifications={"room": 50}), True),
    ("plain user cannot send power levels", BOB, set_users(bob=0), False),
    ("unchanged event from moderator", MOD, set_keys(), True),
]


@pytest.mark.parametrize(
    ("description", "sender", "change", "expected"),
    ESCALATION_CASES,
    ids=[case[0] for case in ESCALATION_CASES],
)
def test_power_level_changes(
    description: str, sender: str, change: Callable[[Content], Content], expected: bool
) -> None:
    room = room_where_mods_edit_power_levels()
    event = make_event("m.room.power_levels", sender, change(room.power_levels()), state_key="")
    assert room.allowed(event) is expected


def test_change_of_level_currently_above_sender_rejected() -> None:
    room = room_where_mods_edit_power_levels().set_power_levels(kick=75)
    assert not room.allowed(power_levels_event(MOD, room, kick=50))
    assert room.allowed(power_levels_event(ALICE, room, kick=50))


@pytest.mark.parametrize(
    "changes",
    [
        {"ban": "50"},
        {"kick": 50.0},
        {"invite": True},
        {"users_default": None},
        {"events_default": "0"},
        {"state_default": [50]},
        {"redact": {"level": 50}},
        {"users": {ALICE: "100"}},
        {"users": {ALICE: 100, "not-a-user-id": 0}},
        {"users": [ALICE]},
        {"events": {"m.room.name": "50"}},
        {"events": "50"},
        {"notifications": {"room": 50.5}},
        {"notifications": {"room": False}},
    ],
)
def test_non_integer_power_levels_rejected(changes: dict[str, Any]) -> None:
    room = standard_room()
    assert not room.allowed(power_levels_event(ALICE, room, **changes))


def test_first_power_levels_event_only_validated() -> None:
    room = empty_room().set_member(ALICE, "join")
    event = make_event(
        "m.room.power_levels",
        ALICE,
        {"users": {ALICE: 100, BOB: 100}, "ban": 100, "events": {"m.room.name": 100}},
        state_key="",
    )
    assert room.allowed(event)
    event["content"]["ban"] = "100"
    assert not room.allowed(event)


def test_first_power_levels_event_still_needs_creator() -> None:
    room = empty_room().set_member(ALICE, "join").set_member(BOB, "join")
    event = make_event("m.room.power_levels", BOB, {"users": {BOB: 100}}, state_key="")
    assert not room.allowed(event)


# ---- helpers ------------------------------------------------------------------------


def test_user_power_level_without_power_levels_event() -> None:
    room = empty_room()
    assert get_user_power_level(ALICE, room.state) == 100
    assert get_user_power_level(BOB, room.state) == 0
    assert get_user_power_level(BOB, {}) == 0


@pytest.mark.parametrize(
    ("content", "user", "expected"),
    [
        ({"users": {BOB: 20}}, BOB, 20),
        ({"users": {BOB: 20}}, CAROL, 0),
        ({"users": {BOB: 20}, "users_default": 5}, CAROL, 5),
        ({"users": {}}, ALICE, 0),  # the creator only gets 100 without a power levels event
        ({"users": {BOB: "30"}}, BOB, 30),  # legacy string levels are read
        ({"users": {BOB: "junk"}, "users_default": 3}, BOB, 3),
        ({"users_default": "7"}, CAROL, 7),
        ({}, BOB, 0),
    ],
)
def test_user_power_level(content: dict[str, Any], user: str, expected: int) -> None:
    room = empty_room().set(make_event("m.room.power_levels", ALICE, content, state_key=""))
    assert get_user_power_level(user, room.state) == expected


@pytest.mark.parametrize(
    ("content", "event_type", "is_state", "expected"),
    [
        (None, "m.room.message", False, 0),
        (None, "m.room.name", True, 50),
        ({}, "m.room.message", False, 0),
        ({}, "m.room.name", True, 50),
        ({"events_default": 10, "state_default": 20}, "m.room.message", False, 10),
        ({"events_default": 10, "state_default": 20}, "m.room.name", True, 20),
        ({"events": {"m.room.name": 99}, "state_default": 20}, "m.room.name", True, 99),
        ({"events": {"m.room.name": "99"}}, "m.room.name", True, 99),
        ({"events": {"m.room.message": 5}}, "m.room.message", True, 5),
    ],
)
def test_required_level_for_event(
    content: dict[str, Any] | None, event_type: str, is_state: bool, expected: int
) -> None:
    room = empty_room()
    if content is not None:
        room.set(make_event("m.room.power_levels", ALICE, content, state_key=""))
    assert get_required_level_for_event(event_type, is_state, room.state) == expected


@pytest.mark.parametrize(
    ("content", "name", "default", "expected"),
    [
        (None, "ban", 50, 50),
        ({}, "kick", 50, 50),
        ({"invite": 10}, "invite", 0, 10),
        ({"redact": "25"}, "redact", 50, 25),
        ({"redact": None}, "redact", 50, 50),
    ],
)
def test_named_level(
    content: dict[str, Any] | None, name: str, default: int, expected: int
) -> None:
    room = empty_room()
    if content is not None:
        room.set(make_event("m.room.power_levels", ALICE, content, state_key=""))
    assert get_named_level(name, room.state, default) == expected
