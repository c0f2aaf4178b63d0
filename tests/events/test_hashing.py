import copy
import re
from typing import Any

import pytest

from homeserver.events import (
    check_content_hash,
    compute_content_hash,
    compute_reference_hash_event_id,
)

# Events from the spec's "Cryptographic Test Vectors" appendix with their content hashes.
SPEC_MINIMAL_EVENT: dict[str, Any] = {
    "room_id": "!x:domain",
    "sender": "@a:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "signatures": {},
    "hashes": {},
    "type": "X",
    "content": {},
    "prev_events": [],
    "auth_events": [],
    "depth": 3,
    "unsigned": {"age_ts": 1000000},
}
SPEC_REDACTABLE_EVENT: dict[str, Any] = {
    "content": {"body": "Here is the message content"},
    "event_id": "$0:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "type": "m.room.message",
    "room_id": "!r:domain",
    "sender": "@u:domain",
    "signatures": {},
    "unsigned": {"age_ts": 1000000},
}

EVENT_ID_PATTERN = re.compile(r"^\$[A-Za-z0-9_-]{43}$")


def message_event() -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "room_id": "!r:example.org",
        "sender": "@u:example.org",
        "origin_server_ts": 1700000000000,
        "depth": 5,
        "prev_events": ["$a"],
        "auth_events": ["$b", "$c"],
        "content": {"msgtype": "m.text", "body": "hello"},
        "hashes": {"sha256": "fixedhashvalue"},
        "signatures": {"example.org": {"ed25519:a_abcd": "sig"}},
    }


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (SPEC_MINIMAL_EVENT, "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"),
        (SPEC_REDACTABLE_EVENT, "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"),
    ],
)
def test_content_hash_spec_vectors(event: dict[str, Any], expected: str) -> None:
    assert compute_content_hash(event) == expected


def test_content_hash_ignores_unsigned_signatures_and_hashes() -> None:
    event = message_event()
    before = compute_content_hash(event)
    event["unsigned"] = {"age": 5}
    event["signatures"] = {"other.org": {"ed25519:x": "y"}}
    event["hashes"] = {"sha256": "different"}
    assert compute_content_hash(event) == before


def test_event_id_is_deterministic_and_well_formed() -> None:
    event = message_event()
    reordered = dict(reversed(list(copy.deepcopy(event).items())))
    event_id = compute_reference_hash_event_id(event)
    assert EVENT_ID_PATTERN.match(event_id)
    assert compute_reference_hash_event_id(reordered) == event_id


def test_event_id_ignores_signatures_unsigned_and_stored_event_id() -> None:
    event = message_event()
    event_id = compute_reference_hash_event_id(event)
    event["signatures"] = {}
    event["unsigned"] = {"age_ts": 1, "transaction_id": "t"}
    event["event_id"] = event_id
    assert compute_reference_hash_event_id(event) == event_id


def test_editing_unprotected_content_changes_content_hash_but_not_event_id() -> None:
    # The reference hash covers the *redacted* event plus the stored content hash, so
    # editing `body` without recomputing `hashes` leaves the event ID alone ...
    event = message_event()
    edited = message_event()
    edited["content"]["body"] = "tampered"
    assert compute_content_hash(edited) != compute_content_hash(event)
    assert compute_reference_hash_event_id(edited) == compute_reference_hash_event_id(event)
    # ... and is caught by the content hash instead.
    event["hashes"] = {"sha256": compute_content_hash(event)}
    edited["hashes"] = dict(event["hashes"])
    assert check_content_hash(event)
    assert not check_content_hash(edited)


def test_recomputing_the_content_hash_changes_the_event_id() -> None:
    event = message_event()
    event["hashes"] = {"sha256": compute_content_hash(event)}
    edited = copy.deepcopy(event)
    edited["content"]["body"] = "different"
    edited["hashes"] = {"sha256": compute_content_hash(edited)}
    assert compute_reference_hash_event_id(edited) != compute_reference_hash_event_id(event)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sender", "@other:example.org"),
        ("type", "m.room.other"),
        ("origin_server_ts", 1),
        ("prev_events", ["$z"]),
        ("hashes", {"sha256": "other"}),
    ],
)
def test_editing_protected_fields_changes_event_id(field: str, value: object) -> None:
    event = message_event()
    edited = message_event()
    edited[field] = value
    assert compute_reference_hash_event_id(edited) != compute_reference_hash_event_id(event)


def test_protected_content_key_changes_event_id() -> None:
    member = {**message_event(), "type": "m.room.member", "state_key": "@u:example.org"}
    member["content"] = {"membership": "join", "displayname": "U"}
    renamed = copy.deepcopy(member)
    renamed["content"]["displayname"] = "Someone else"
    left = copy.deepcopy(member)
    left["content"]["membership"] = "leave"
    event_id = compute_reference_hash_event_id(member)
    assert compute_reference_hash_event_id(renamed) == event_id
    assert compute_reference_hash_event_id(left) != event_id


@pytest.mark.parametrize(
    "hashes",
    [None, "not-an-object", {}, {"sha256": 5}, {"sha256": "!!!not base64"}, {"sha256": "AAAA"}],
)
def test_check_content_hash_rejects_missing_or_wrong_hashes(hashes: object) -> None:
    event = message_event()
    if hashes is None:
        del event["hashes"]
    else:
        event["hashes"] = hashes
    assert not check_content_hash(event)


def test_check_content_hash_accepts_padded_hash() -> None:
    event = message_event()
    event["hashes"] = {"sha256": compute_content_hash(event) + "="}
    assert check_content_hash(event)
