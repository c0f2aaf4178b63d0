"""The checks on receipt of a PDU: format and size, signatures, content hash, and the auth
rules against its auth events, the state before it and the current state."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from homeserver.events import (
    AuthError,
    auth_types_for_event,
    canonical_json,
    compute_reference_hash_event_id,
    generate_signing_key,
    hash_and_sign_event,
    redact_event,
)
from homeserver.events.pdu_checks import (
    SignatureError,
    check_pdu_auth_events,
    check_pdu_signatures,
    passes_auth,
    with_content_hash_checked,
)
from homeserver.events.pdu_format import MAX_PDU_BYTES, InvalidPduError, check_pdu_format
from homeserver.events.room_ids import room_id_for_create_event
from homeserver.events.room_versions import ROOM_V11, ROOM_V12, RoomVersion

SERVER = "example.org"
ALICE, BOB = f"@alice:{SERVER}", f"@bob:{SERVER}"
KEY_ID, KEY = generate_signing_key()
OTHER_KEY_ID, OTHER_KEY = generate_signing_key()
_clock = itertools.count(1_700_000_000_000)


def lookup(server: str, key_id: str, ts: int) -> Ed25519PublicKey | None:
    return KEY.public_key() if (server, key_id) == (SERVER, KEY_ID) else None


class SignedRoom:
    """A room whose events are hashed and signed by example.org, as received over
    federation (no event_id key on the PDUs)."""

    def __init__(self, room_version: RoomVersion) -> None:
        self.version = room_version
        self.events: dict[str, dict[str, Any]] = {}
        self.state: dict[tuple[str, str], dict[str, Any]] = {}
        self.room_id = "!room:example.org"
        create = self.pdu("m.room.create", ALICE, {"room_version": room_version.identifier}, "")
        if room_version.room_id_is_create_event_hash:
            self.room_id = room_id_for_create_event(create)
        self.add(create)
        self.add(self.pdu("m.room.member", ALICE, {"membership": "join"}, ALICE))
        levels = {"users": {} if room_version.creators_have_infinite_power else {ALICE: 100}}
        self.add(self.pdu("m.room.power_levels", ALICE, levels, ""))
        self.add(self.pdu("m.room.join_rules", ALICE, {"join_rule": "public"}, ""))
        self.add(self.pdu("m.room.member", BOB, {"membership": "join"}, BOB))

    def pdu(
        self,
        event_type: str,
        sender: str,
        content: dict[str, Any],
        state_key: str | None = None,
        *,
        auth_events: list[str] | None = None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": event_type,
            "sender": sender,
            "content": content,
            "origin_server_ts": next(_clock),
            "depth": len(self.events) + 1,
            "prev_events": list(self.events)[-1:],
        }
        is_create = event_type == "m.room.create"
        if not (is_create and self.version.room_id_is_create_event_hash):
            event["room_id"] = self.room_id
        if state_key is not None:
            event["state_key"] = state_key
        if auth_events is None:
            keys = auth_types_for_event(event, self.version)
            auth_events = [self.id_of(self.state[key]) for key in keys if key in self.state]
        event["auth_events"] = auth_events
        return hash_and_sign_event(event, SERVER, KEY_ID, KEY)

    @staticmethod
    def id_of(event: dict[str, Any]) -> str:
        return compute_reference_hash_event_id(event)

    def add(self, event: dict[str, Any]) -> str:
        event_id = self.id_of(event)
        self.events[event_id] = event
        if "state_key" in event:
            self.state[(event["type"], event["state_key"])] = event
        return event_id


@pytest.fixture(params=[ROOM_V11, ROOM_V12], ids=["v11", "v12"])
def room(request: pytest.FixtureRequest) -> SignedRoom:
    return SignedRoom(request.param)


def test_a_good_pdu_passes_every_check(room: SignedRoom) -> None:
    message = room.pdu("m.room.message", BOB, {"body": "hi"})
    check_pdu_format(message, room.version)
    check_pdu_signatures(message, lookup)
    assert with_content_hash_checked(message).redacted is False
    auth_state = check_pdu_auth_events(message, room.events, room.version)
    assert ("m.room.create", "") in auth_state
    assert passes_auth(message, room.state, room.version)


def test_every_event_of_the_room_passes(room: SignedRoom) -> None:
    for event in room.events.values():
        check_pdu_format(event, room.version)
        check_pdu_signatures(event, lookup)
        check_pdu_auth_events(event, room.events, room.version)


# -- format and size -------------------------------------------------------------------


def test_oversized_pdu_is_rejected(room: SignedRoom) -> None:
    message = room.pdu("m.room.message", BOB, {"body": "x" * MAX_PDU_BYTES})
    with pytest.raises(InvalidPduError, match="more than 65536"):
        check_pdu_format(message, room.version)


def test_a_pdu_just_under_the_limit_is_fine(room: SignedRoom) -> None:
    message = room.pdu("m.room.message", BOB, {"body": ""})
    spare = MAX_PDU_BYTES - len(canonical_json(message))
    message = room.pdu("m.room.message", BOB, {"body": "x" * (spare - 10)})
    check_pdu_format(message, room.version)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": 5}, "type"),
        ({"type": "t" * 256}, "type"),
        ({"state_key": "k" * 256}, "state_key"),
        ({"sender": "alice"}, "sender"),
        ({"content": []}, "content"),
        ({"hashes": {}}, "hashes"),
        ({"signatures": {"example.org": "sig"}}, "signatures"),
        ({"depth": -1}, "depth"),
        ({"depth": 1.5}, "canonical JSON"),
        ({"origin_server_ts": "now"}, "origin_server_ts"),
        ({"prev_events": ["$a"] * 21}, "more than 20"),
        ({"auth_events": ["$a"] * 11}, "more than 10"),
        ({"auth_events": [5]}, "auth_events"),
        ({"room_id": None}, "room_id"),
        ({"unsigned": []}, "unsigned"),
    ],
)
def test_malformed_pdus_are_rejected(room: SignedRoom, change: dict[str, Any], reason: str) -> None:
    message = {**room.pdu("m.room.message", BOB, {"body": "hi"}), **change}
    with pytest.raises(InvalidPduError, match=reason):
        check_pdu_format(message, room.version)


def test_v12_room_ids_and_create_events() -> None:
    room = SignedRoom(ROOM_V12)
    create = next(iter(room.events.values()))
    with pytest.raises(InvalidPduError, match="no room_id"):
        check_pdu_format({**create, "room_id": room.room_id}, ROOM_V12)
    message = room.pdu("m.room.message", BOB, {})
    with pytest.raises(InvalidPduError, match="no server name"):
        check_pdu_format({**message, "room_id": "!abc:example.org"}, ROOM_V12)
    with pytest.raises(InvalidPduError, match="room_id"):
        check_pdu_format(create, ROOM_V11)


# -- signatures and hashes --------------------------------------------------------------


def test_a_bad_signature_is_rejected(room: SignedRoom) -> None:
    message = room.pdu("m.room.message", BOB, {"body": "hi"})
    forged = {**message, "depth": message["depth"] + 1}  # depth survives redaction: signed
    with pytest.raises(SignatureError, match="does not verify"):
        check_pdu_signatures(forged, lookup)


def test_a_signature_by_an_unknown_key_only_is_rejected(room: SignedRoom) -> None:
    message = room.pdu("m.room.message", BOB, {"body": "hi"})
    unknown = {**message, "signatures": {SERVER: {OTHER_KEY_ID: "AAAA"}}}
    with pytest.raises(SignatureError, match=r"not signed by example\.org with a known key"):
        check_pdu_signatures(unknown, lookup)


def test_a_pdu_signed_by_another_server_only_is_rejected(room: SignedRoom) -> None:
    event = room.pdu("m.room.message", "@eve:elsewhere.test", {"body": "hi"})
    with pytest.raises(SignatureError, match=r"elsewhere\.test"):
        check_pdu_signatures(event, lookup)


def test_restricted_join_needs_the_authorising_servers_signature(room: SignedRoom) -> None:
    content = {"membership": "join", "join_authorised_via_users_server": "@mod:other.test"}
    join = room.pdu("m.room.member", "@carol:example.org", content, "@carol:example.org")
    with pytest.raises(SignatureError, match=r"other\.test"):
        check_pdu_signatures(join, lookup)


def test_a_redacted_copy_still_verifies(room: SignedRoom) -> None:
    message = room.pdu("m.room.message", BOB, {"body": "hi"})
    check_pdu_signatures(redact_event(message), lookup)


def test_a_bad_content_hash_means_the_redacted_form_is_kept(room: SignedRoom) -> None:
    message = room.pdu("m.room.message", BOB, {"body": "hi"})
    tampered = {**message, "content": {"body": "something else"}}
    check_pdu_signatures(tampered, lookup)  # content is not signed, only hashed
    result = with_content_hash_checked(tampered)
    assert result.redacted is True
    assert result.event["content"] == {}
    assert compute_reference_hash_event_id(result.event) == room.id_of(message)
    untouched = with_content_hash_checked(message)
    assert untouched.redacted is False and untouched.event == message


# -- auth against the auth events -------------------------------------------------------


def _ids(room: SignedRoom, *keys: tuple[str, str]) -> list[str]:
    return [room.id_of(room.state[key]) for key in keys]


CREATE, PL, JR = ("m.room.create", ""), ("m.room.power_levels", ""), ("m.room.join_rules", "")


def _base(room: SignedRoom) -> list[tuple[str, str]]:
    return [PL] if room.version.room_id_is_create_event_hash else [CREATE, PL]


def test_auth_events_that_are_not_selected_are_rejected(room: SignedRoom) -> None:
    keys = [*_base(room), ("m.room.member", BOB), JR]  # join rules: not for a message
    message = room.pdu("m.room.message", BOB, {}, auth_events=_ids(room, *keys))
    with pytest.raises(AuthError, match="not one the event needs"):
        check_pdu_auth_events(message, room.events, room.version)


def test_the_create_event_may_not_be_listed_in_v12() -> None:
    room = SignedRoom(ROOM_V12)
    keys = [CREATE, PL, ("m.room.member", BOB)]
    message = room.pdu("m.room.message", BOB, {}, auth_events=_ids(room, *keys))
    with pytest.raises(AuthError, match="not one the event needs"):
        check_pdu_auth_events(message, room.events, ROOM_V12)


def test_the_create_event_must_be_listed_in_v11() -> None:
    room = SignedRoom(ROOM_V11)
    message = room.pdu(
        "m.room.message", BOB, {}, auth_events=_ids(room, PL, ("m.room.member", BOB))
    )
    with pytest.raises(AuthError, match=r"do not include the m\.room\.create"):
        check_pdu_auth_events(message, room.events, ROOM_V11)


def test_duplicate_auth_events_are_rejected(room: SignedRoom) -> None:
    old_pl = room.id_of(room.state[PL])
    room.add(room.pdu("m.room.power_levels", ALICE, {"users": {BOB: 10}}, ""))
    auth_events = [*_ids(room, *_base(room), ("m.room.member", BOB)), old_pl]
    message = room.pdu("m.room.message", BOB, {}, auth_events=auth_events)
    with pytest.raises(AuthError, match="two events"):
        check_pdu_auth_events(message, room.events, room.version)


def test_rejected_unknown_and_foreign_auth_events_are_rejected(room: SignedRoom) -> None:
    message = room.pdu("m.room.message", BOB, {})
    member_id = room.id_of(room.state[("m.room.member", BOB)])
    with pytest.raises(AuthError, match="was rejected"):
        check_pdu_auth_events(message, room.events, room.version, rejected={member_id})
    known = {k: v for k, v in room.events.items() if k != member_id}
    with pytest.raises(AuthError, match="is not known"):
        check_pdu_auth_events(message, known, room.version)
    foreign = {**room.events, member_id: {**room.events[member_id], "room_id": "!other:x"}}
    with pytest.raises(AuthError, match="another room"):
        check_pdu_auth_events(message, foreign, room.version)


def test_auth_events_that_do_not_allow_the_event_reject_it(room: SignedRoom) -> None:
    levels = {**room.state[PL]["content"], "events_default": 50}
    room.add(room.pdu("m.room.power_levels", ALICE, levels, ""))
    message = room.pdu("m.room.message", BOB, {})
    with pytest.raises(AuthError, match="needs power level 50"):
        check_pdu_auth_events(message, room.events, room.version)


# -- auth against the state before it and the current state (soft failure) -------------


def test_a_ban_evading_message_passes_its_auth_events_but_soft_fails(room: SignedRoom) -> None:
    before_ban = dict(room.state)
    message = room.pdu("m.room.message", BOB, {"body": "still here"})  # cites Bob's join
    room.add(room.pdu("m.room.member", ALICE, {"membership": "ban"}, BOB))
    check_pdu_auth_events(message, room.events, room.version)
    assert passes_auth(message, before_ban, room.version)
    assert not passes_auth(message, room.state, room.version)
