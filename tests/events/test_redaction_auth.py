"""Whether a redaction takes effect (spec "Handling redactions") and client redactions."""

import pytest

from homeserver.events import (
    AuthError,
    can_apply_redaction,
    check_client_redaction,
    redacted_event_id,
)

from .builders import ALICE, BOB, MOD, MOD2, REMOTE, make_event, standard_room


def redaction(sender: str, room_id: str = "!room:example.org") -> dict[str, object]:
    return make_event("m.room.redaction", sender, {"redacts": "$target"}, room_id=room_id)


def message(sender: str) -> dict[str, object]:
    return make_event("m.room.message", sender, {"body": "hi"}, event_id="$target")


@pytest.mark.parametrize(
    ("redactor", "author", "expected"),
    [
        (BOB, BOB, True),  # own event
        (MOD, BOB, True),  # moderator
        (MOD, REMOTE, True),  # moderator, other server
        (REMOTE, BOB, False),  # plain user on another server
        (BOB, REMOTE, False),
        (BOB, MOD2, True),  # same server: the server vouches for its own users
    ],
)
def test_can_apply_redaction(redactor: str, author: str, expected: bool) -> None:
    room = standard_room()
    assert can_apply_redaction(redaction(redactor), message(author), room.state) is expected


def test_can_apply_redaction_respects_redact_level() -> None:
    room = standard_room().set_power_levels(redact=100)
    assert not can_apply_redaction(redaction(MOD), message(REMOTE), room.state)
    assert can_apply_redaction(redaction(ALICE), message(REMOTE), room.state)


def test_can_apply_redaction_requires_same_room() -> None:
    room = standard_room()
    other_room = redaction(BOB, room_id="!other:example.org")
    assert not can_apply_redaction(other_room, message(BOB), room.state)


@pytest.mark.parametrize(
    ("redactor", "author", "expected"),
    [
        (BOB, BOB, True),
        (MOD, BOB, True),
        (ALICE, MOD, True),
        (BOB, MOD2, False),  # same server, but a client may only redact its own events
        (BOB, ALICE, False),
        (REMOTE, BOB, False),
    ],
)
def test_check_client_redaction(redactor: str, author: str, expected: bool) -> None:
    room = standard_room()
    try:
        check_client_redaction(redaction(redactor), message(author), room.state)
    except AuthError:
        allowed = False
    else:
        allowed = True
    assert allowed is expected


@pytest.mark.parametrize("event_type", ["m.room.create", "m.room.server_acl"])
def test_clients_cannot_redact_special_events(event_type: str) -> None:
    room = standard_room()
    target = make_event(event_type, ALICE, {}, state_key="")
    with pytest.raises(AuthError, match="not permitted"):
        check_client_redaction(redaction(ALICE), target, room.state)


def test_client_redaction_other_room() -> None:
    with pytest.raises(AuthError, match="different room"):
        check_client_redaction(
            redaction(BOB, room_id="!other:example.org"), message(BOB), standard_room().state
        )


def test_redacted_event_id() -> None:
    assert redacted_event_id(redaction(BOB)) == "$target"
    legacy = make_event("m.room.redaction", BOB, {}, redacts="$old")
    assert redacted_event_id(legacy) == "$old"
    assert redacted_event_id(make_event("m.room.redaction", BOB, {})) is None
