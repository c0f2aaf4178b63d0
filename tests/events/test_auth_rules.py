"""Room version 11 authorisation rules other than membership and power levels."""

from typing import Any

import pytest

from homeserver.events import AuthError, check_auth

from .builders import (
    ALICE,
    BOB,
    CAROL,
    MOD,
    REMOTE,
    ROOM_ID,
    create_event,
    make_event,
    member_event,
    standard_room,
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, True),
        ({"content": {}}, True),  # room_version is optional
        ({"content": {"room_version": "1"}}, True),
        ({"prev_events": ["$x"]}, False),
        ({"room_id": "!room:other.org"}, False),
        ({"room_id": "!no-server"}, False),
        ({"content": {"room_version": "999"}}, False),
        ({"content": {"room_version": 11}}, False),
        ({"sender": "not a user"}, False),
    ],
)
def test_create_event(changes: dict[str, Any], expected: bool) -> None:
    event = {**create_event(ALICE), **changes}
    try:
        check_auth(event, {})
    except AuthError:
        allowed = False
    else:
        allowed = True
    assert allowed is expected


def test_event_without_create_in_state_rejected() -> None:
    room = standard_room().without("m.room.create")
    assert not room.allowed(make_event("m.room.message", BOB, {"body": "hi"}))


def test_auth_event_from_another_room_rejected() -> None:
    room = standard_room()
    room.state[("m.room.member", BOB)]["room_id"] = "!elsewhere:example.org"
    assert not room.allowed(make_event("m.room.message", BOB, {"body": "hi"}))
    assert room.allowed(make_event("m.room.message", MOD, {"body": "hi"}))


@pytest.mark.parametrize(("sender", "expected"), [(BOB, True), (REMOTE, False)])
def test_m_federate_false_blocks_other_servers(sender: str, expected: bool) -> None:
    room = standard_room()
    create = create_event(ALICE)
    create["content"]["m.federate"] = False
    room.set(create)
    assert room.allowed(make_event("m.room.message", sender, {"body": "hi"})) is expected
    assert room.allowed(member_event(sender, sender, "leave")) is expected


@pytest.mark.parametrize(
    ("membership", "expected"),
    [
        ("join", True),
        (None, False),
        ("invite", False),
        ("leave", False),
        ("ban", False),
        ("knock", False),
    ],
)
def test_non_member_events_need_joined_sender(membership: str | None, expected: bool) -> None:
    room = standard_room()
    if membership is not None:
        room.set_member(CAROL, membership)
    assert room.allowed(make_event("m.room.message", CAROL, {"body": "hi"})) is expected


@pytest.mark.parametrize(
    ("sender", "levels", "expected"),
    [
        (BOB, {}, True),
        (BOB, {"events_default": 10}, False),
        (MOD, {"events_default": 10}, True),
        (BOB, {"events": {"m.room.message": 1}}, False),
        (BOB, {"events_default": 10, "events": {"m.room.message": 0}}, True),
    ],
)
def test_message_event_levels(sender: str, levels: dict[str, Any], expected: bool) -> None:
    room = standard_room().set_power_levels(**levels)
    assert room.allowed(make_event("m.room.message", sender, {"body": "hi"})) is expected


@pytest.mark.parametrize(
    ("sender", "event_type", "levels", "expected"),
    [
        (BOB, "m.room.name", {}, False),  # state_default 50
        (MOD, "m.room.name", {}, True),
        (BOB, "m.room.topic", {"events": {"m.room.topic": 0}}, True),
        (BOB, "m.room.name", {"state_default": 0}, True),
        (MOD, "m.room.history_visibility", {}, False),  # events override to 100
        (ALICE, "m.room.history_visibility", {}, True),
        (MOD, "m.room.name", {"users_default": 0, "users": {MOD: 49}}, False),
    ],
)
def test_state_event_levels(
    sender: str, event_type: str, levels: dict[str, Any], expected: bool
) -> None:
    room = standard_room().set_power_levels(**levels)
    event = make_event(event_type, sender, {"x": 1}, state_key="")
    assert room.allowed(event) is expected


def test_state_default_applies_without_power_levels_event() -> None:
    room = standard_room().without("m.room.power_levels")
    # Only the creator has power (100); everybody else has 0 and state_default is 50.
    assert room.allowed(make_event("m.room.name", ALICE, {"name": "n"}, state_key=""))
    assert not room.allowed(make_event("m.room.name", BOB, {"name": "n"}, state_key=""))
    assert room.allowed(make_event("m.room.message", BOB, {"body": "hi"}))


@pytest.mark.parametrize(
    ("sender", "state_key", "expected"),
    [
        (MOD, "@mod:example.org", True),
        (MOD, "@bob:example.org", False),
        (ALICE, "@bob:example.org", False),  # power does not help
        (MOD, "@", False),
        (MOD, "not-a-user", True),
        (MOD, "", True),
    ],
)
def test_user_state_keys_belong_to_their_user(sender: str, state_key: str, expected: bool) -> None:
    room = standard_room()
    event = make_event("org.example.status", sender, {"s": 1}, state_key=state_key)
    assert room.allowed(event) is expected


@pytest.mark.parametrize(
    ("sender", "invite", "expected"), [(BOB, 0, True), (BOB, 50, False), (MOD, 50, True)]
)
def test_third_party_invite_event_needs_invite_level(
    sender: str, invite: int, expected: bool
) -> None:
    room = standard_room().set_power_levels(
        invite=invite, events={"m.room.third_party_invite": 100}
    )
    event = make_event("m.room.third_party_invite", sender, {"display_name": "c"}, state_key="tok")
    # The invite level alone decides, regardless of `events`.
    assert room.allowed(event) is expected


@pytest.mark.parametrize(
    ("sender", "levels", "expected"),
    [
        (BOB, {}, True),  # the redact level is not part of the auth rules
        (BOB, {"redact": 100}, True),
        (BOB, {"events": {"m.room.redaction": 50}}, False),
        (MOD, {"events": {"m.room.redaction": 50}}, True),
        (CAROL, {}, False),  # not joined
    ],
)
def test_redaction_event_auth(sender: str, levels: dict[str, Any], expected: bool) -> None:
    room = standard_room().set_power_levels(**levels)
    event = make_event("m.room.redaction", sender, {"redacts": "$someone-elses"})
    assert room.allowed(event) is expected


@pytest.mark.parametrize(
    "changes",
    [
        {"type": None},
        {"sender": None},
        {"sender": "bob"},
        {"room_id": None},
        {"state_key": 5},
    ],
)
def test_malformed_events_rejected(changes: dict[str, Any]) -> None:
    room = standard_room()
    event = make_event("m.room.topic", ALICE, {"topic": "t"}, state_key="")
    for key, value in changes.items():
        if value is None:
            del event[key]
        else:
            event[key] = value
    assert not room.allowed(event)


def test_room_id_of_event_is_checked_against_auth_events() -> None:
    room = standard_room()
    event = make_event("m.room.message", BOB, {"body": "hi"}, room_id="!other:example.org")
    assert event["room_id"] != ROOM_ID
    assert not room.allowed(event)
