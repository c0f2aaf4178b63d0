from typing import Any

import pytest

from homeserver.events import auth_types_for_event

from .builders import ALICE, BOB, CAROL, MOD, create_event, make_event, member_event

BASE = [("m.room.create", ""), ("m.room.power_levels", "")]


def test_create_event_has_no_auth_events() -> None:
    assert auth_types_for_event(create_event()) == []


def test_message_event() -> None:
    event = make_event("m.room.message", BOB, {"body": "hi"})
    assert auth_types_for_event(event) == [*BASE, ("m.room.member", BOB)]


@pytest.mark.parametrize(
    ("event", "expected_extra"),
    [
        (member_event(BOB, BOB, "join"), [("m.room.join_rules", "")]),
        (member_event(BOB, CAROL, "invite"), [("m.room.member", CAROL), ("m.room.join_rules", "")]),
        (member_event(CAROL, CAROL, "knock"), [("m.room.join_rules", "")]),
        (member_event(BOB, BOB, "leave"), []),
        (member_event(MOD, BOB, "ban"), [("m.room.member", BOB)]),
        (
            member_event(BOB, CAROL, "invite", third_party_invite={"signed": {"token": "tok"}}),
            [
                ("m.room.member", CAROL),
                ("m.room.join_rules", ""),
                ("m.room.third_party_invite", "tok"),
            ],
        ),
        (
            member_event(CAROL, CAROL, "join", join_authorised_via_users_server=ALICE),
            [("m.room.join_rules", ""), ("m.room.member", ALICE)],
        ),
        # join_authorised_via_users_server only matters for joins
        (member_event(CAROL, CAROL, "leave", join_authorised_via_users_server=ALICE), []),
    ],
)
def test_member_events(event: dict[str, Any], expected_extra: list[tuple[str, str]]) -> None:
    sender, target = event["sender"], event["state_key"]
    expected = [*BASE, ("m.room.member", sender)]
    expected += [key for key in expected_extra if key != ("m.room.member", sender)]
    assert auth_types_for_event(event) == expected
    assert ("m.room.member", target) in auth_types_for_event(event)


def test_no_duplicates() -> None:
    event = member_event(ALICE, ALICE, "join", join_authorised_via_users_server=ALICE)
    selected = auth_types_for_event(event)
    assert len(selected) == len(set(selected))
