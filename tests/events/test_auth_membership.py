"""Room version 11 authorisation rule 4: m.room.member events."""

from collections.abc import Callable
from typing import Any

import pytest

from homeserver.events import AuthError, check_auth

from .builders import (
    ALICE,
    BOB,
    CAROL,
    MOD,
    MOD2,
    REMOTE,
    Room,
    create_event_id,
    empty_room,
    member_event,
    standard_room,
)


def test_creator_first_join_after_create() -> None:
    room = empty_room()
    join = member_event(ALICE, ALICE, "join")
    join["prev_events"] = [create_event_id(room)]
    assert room.allowed(join)


def test_creator_first_join_with_create_event_id_stored() -> None:
    room = empty_room()
    room.state[("m.room.create", "")]["event_id"] = "$stored-create-id"
    join = member_event(ALICE, ALICE, "join")
    join["prev_events"] = ["$stored-create-id"]
    assert room.allowed(join)


@pytest.mark.parametrize(
    ("user", "prev_events"),
    [
        (ALICE, ["$something-else"]),  # prev event is not the create event
        (ALICE, "two"),  # create event plus another prev event
        (BOB, "create"),  # not the creator
    ],
)
def test_first_join_special_case_is_narrow(user: str, prev_events: object) -> None:
    room = empty_room()
    create_id = create_event_id(room)
    join = member_event(user, user, "join")
    if prev_events == "create":
        join["prev_events"] = [create_id]
    elif prev_events == "two":
        join["prev_events"] = [create_id, "$other"]
    else:
        join["prev_events"] = prev_events
    # With no join rules event the room is invite-only, so the ordinary rules reject.
    assert not room.allowed(join)


def test_auth_error_has_message() -> None:
    room = standard_room("invite")
    with pytest.raises(AuthError, match="not invited"):
        check_auth(member_event(CAROL, CAROL, "join"), room.state)


Setup = Callable[[Room], Any]


def _noop(room: Room) -> None:
    return None


JOIN_CASES: list[tuple[str, str, Setup, bool]] = [
    ("public", "stranger joins public room", _noop, True),
    ("invite", "stranger joins invite-only room", _noop, False),
    ("invite", "invited user joins", lambda r: r.set_member(CAROL, "invite"), True),
    ("knock", "stranger joins knock room", _noop, False),
    ("knock", "invited user joins knock room", lambda r: r.set_member(CAROL, "invite"), True),
    ("public", "banned user joins public room", lambda r: r.set_member(CAROL, "ban"), False),
    ("invite", "banned user joins invite room", lambda r: r.set_member(CAROL, "ban"), False),
    ("public", "user who left rejoins", lambda r: r.set_member(CAROL, "leave"), True),
    ("private", "unknown join rule", _noop, False),
    (
        "restricted",
        "invited user joins restricted room",
        lambda r: r.set_member(CAROL, "invite"),
        True,
    ),
    ("knock_restricted", "stranger, no authoriser", _noop, False),
]


@pytest.mark.parametrize(
    ("join_rule", "description", "setup", "expected"),
    JOIN_CASES,
    ids=[case[1] for case in JOIN_CASES],
)
def test_join(join_rule: str, description: str, setup: Setup, expected: bool) -> None:
    room = standard_room(join_rule)
    setup(room)
    assert room.allowed(member_event(CAROL, CAROL, "join")) is expected


def test_join_rules_event_absent_means_invite() -> None:
    room = standard_room("public").without("m.room.join_rules")
    assert not room.allowed(member_event(CAROL, CAROL, "join"))


def test_cannot_join_on_behalf_of_someone_else() -> None:
    room = standard_room("public")
    assert not room.allowed(member_event(BOB, CAROL, "join"))


def _restricted_join(authoriser: str, *, signed_by: str | None) -> dict[str, Any]:
    event = member_event(CAROL, CAROL, "join", join_authorised_via_users_server=authoriser)
    if signed_by is not None:
        event["signatures"] = {signed_by: {"ed25519:a_abcd": "sig"}}
    return event


@pytest.mark.parametrize(
    ("authoriser", "signed_by", "invite_level", "expected"),
    [
        (MOD, "example.org", 0, True),
        (MOD, "example.org", 50, True),
        (BOB, "example.org", 50, False),  # authoriser lacks invite power
        (CAROL, "example.org", 0, False),  # authoriser not joined
        (MOD, None, 0, False),  # not signed by the authorising server
        (MOD, "remote.test", 0, False),  # signed by the wrong server
        (REMOTE, "remote.test", 0, True),
        ("not-a-user", "example.org", 0, False),
    ],
)
def test_restricted_join(
    authoriser: str, signed_by: str | None, invite_level: int, expected: bool
) -> None:
    for rule in ("restricted", "knock_restricted"):
        room = standard_room(rule).set_power_levels(invite=invite_level)
        event = _restricted_join(authoriser, signed_by=signed_by)
        assert room.allowed(event) is expected, rule


def test_restricted_join_rejects_unsigned_authoriser_even_for_public_rooms() -> None:
    room = standard_room("public")
    assert not room.allowed(_restricted_join(MOD, signed_by=None))
    assert room.allowed(_restricted_join(MOD, signed_by="example.org"))


INVITE_CASES: list[tuple[str, str, str, Setup, bool]] = [
    ("member invites stranger", BOB, CAROL, _noop, True),
    ("non-member invites", CAROL, "@dave:example.org", _noop, False),
    (
        "invited user invites",
        CAROL,
        "@dave:example.org",
        lambda r: r.set_member(CAROL, "invite"),
        False,
    ),
    ("invite a joined user", MOD, BOB, _noop, False),
    ("invite a banned user", MOD, CAROL, lambda r: r.set_member(CAROL, "ban"), False),
    ("re-invite an invited user", MOD, CAROL, lambda r: r.set_member(CAROL, "invite"), True),
    ("invite someone who left", BOB, CAROL, lambda r: r.set_member(CAROL, "leave"), True),
    ("below invite level", BOB, CAROL, lambda r: r.set_power_levels(invite=50), False),
    ("at invite level", MOD, CAROL, lambda r: r.set_power_levels(invite=50), True),
]


@pytest.mark.parametrize(
    ("description", "sender", "target", "setup", "expected"),
    INVITE_CASES,
    ids=[case[0] for case in INVITE_CASES],
)
def test_invite(description: str, sender: str, target: str, setup: Setup, expected: bool) -> None:
    room = standard_room()
    setup(room)
    assert room.allowed(member_event(sender, target, "invite")) is expected


LEAVE_CASES: list[tuple[str, str, str, Setup, bool]] = [
    # leaving yourself
    ("joined user leaves", BOB, BOB, _noop, True),
    ("invited user rejects invite", CAROL, CAROL, lambda r: r.set_member(CAROL, "invite"), True),
    ("knocking user rescinds", CAROL, CAROL, lambda r: r.set_member(CAROL, "knock"), True),
    ("stranger leaves", CAROL, CAROL, _noop, False),
    ("user who left leaves again", CAROL, CAROL, lambda r: r.set_member(CAROL, "leave"), False),
    ("banned user unbans themselves", CAROL, CAROL, lambda r: r.set_member(CAROL, "ban"), False),
    # kicks
    ("moderator kicks user", MOD, BOB, _noop, True),
    ("admin kicks moderator", ALICE, MOD, _noop, True),
    ("user kicks user", BOB, REMOTE, _noop, False),
    ("moderator kicks peer moderator", MOD, MOD2, _noop, False),
    ("moderator kicks admin", MOD, ALICE, _noop, False),
    ("kick level above moderator", MOD, BOB, lambda r: r.set_power_levels(kick=75), False),
    ("kick level lowered to 0", BOB, REMOTE, lambda r: r.set_power_levels(kick=0), False),
    (
        "kick allowed when target below sender",
        BOB,
        REMOTE,
        lambda r: r.set_power_levels(kick=0, users={**r.power_levels()["users"], BOB: 1}),
        True,
    ),
    ("non-member kicks", CAROL, BOB, lambda r: r.set_power_levels(users={CAROL: 100}), False),
    ("moderator rescinds invite", MOD, CAROL, lambda r: r.set_member(CAROL, "invite"), True),
    # unbans
    ("moderator unbans", MOD, CAROL, lambda r: r.set_member(CAROL, "ban"), True),
    ("user unbans", BOB, CAROL, lambda r: r.set_member(CAROL, "ban"), False),
    (
        "unban needs ban level",
        MOD,
        CAROL,
        lambda r: (r.set_member(CAROL, "ban"), r.set_power_levels(ban=75)),
        False,
    ),
    (
        "unban also needs kick level",
        MOD,
        CAROL,
        lambda r: (r.set_member(CAROL, "ban"), r.set_power_levels(kick=75)),
        False,
    ),
]


@pytest.mark.parametrize(
    ("description", "sender", "target", "setup", "expected"),
    LEAVE_CASES,
    ids=[case[0] for case in LEAVE_CASES],
)
def test_leave_kick_unban(
    description: str, sender: str, target: str, setup: Setup, expected: bool
) -> None:
    room = standard_room()
    setup(room)
    assert room.allowed(member_event(sender, target, "leave")) is expected


BAN_CASES: list[tuple[str, str, str, Setup, bool]] = [
    ("moderator bans user", MOD, BOB, _noop, True),
    ("moderator bans stranger", MOD, CAROL, _noop, True),
    ("admin bans moderator", ALICE, MOD, _noop, True),
    ("user bans user", BOB, REMOTE, _noop, False),
    ("moderator bans peer", MOD, MOD2, _noop, False),
    ("moderator bans admin", MOD, ALICE, _noop, False),
    ("ban level above moderator", MOD, BOB, lambda r: r.set_power_levels(ban=75), False),
    ("non-member bans", CAROL, BOB, lambda r: r.set_power_levels(users={CAROL: 100}), False),
]


@pytest.mark.parametrize(
    ("description", "sender", "target", "setup", "expected"),
    BAN_CASES,
    ids=[case[0] for case in BAN_CASES],
)
def test_ban(description: str, sender: str, target: str, setup: Setup, expected: bool) -> None:
    room = standard_room()
    setup(room)
    assert room.allowed(member_event(sender, target, "ban")) is expected


KNOCK_CASES: list[tuple[str, str, str, str, Setup, bool]] = [
    ("knock on knock room", "knock", CAROL, CAROL, _noop, True),
    ("knock on knock_restricted room", "knock_restricted", CAROL, CAROL, _noop, True),
    ("knock on invite room", "invite", CAROL, CAROL, _noop, False),
    ("knock on public room", "public", CAROL, CAROL, _noop, False),
    ("knock for someone else", "knock", BOB, CAROL, _noop, False),
    ("joined user knocks", "knock", BOB, BOB, _noop, False),
    ("banned user knocks", "knock", CAROL, CAROL, lambda r: r.set_member(CAROL, "ban"), False),
    ("invited user knocks", "knock", CAROL, CAROL, lambda r: r.set_member(CAROL, "invite"), False),
    (
        "knock again after leaving",
        "knock",
        CAROL,
        CAROL,
        lambda r: r.set_member(CAROL, "leave"),
        True,
    ),
]


@pytest.mark.parametrize(
    ("description", "join_rule", "sender", "target", "setup", "expected"),
    KNOCK_CASES,
    ids=[case[0] for case in KNOCK_CASES],
)
def test_knock(
    description: str, join_rule: str, sender: str, target: str, setup: Setup, expected: bool
) -> None:
    room = standard_room(join_rule)
    setup(room)
    assert room.allowed(member_event(sender, target, "knock")) is expected


@pytest.mark.parametrize(
    "content",
    [{}, {"membership": 5}, {"membership": "dance"}],
)
def test_malformed_membership_rejected(content: dict[str, Any]) -> None:
    room = standard_room("public")
    event = member_event(CAROL, CAROL, "join")
    event["content"] = content
    assert not room.allowed(event)


def test_member_event_without_state_key_rejected() -> None:
    room = standard_room("public")
    event = member_event(CAROL, CAROL, "join")
    del event["state_key"]
    assert not room.allowed(event)
