import copy
from typing import Any

import pytest

from homeserver.events import redact_event


def full_event(event_type: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "event_id": "$e",
        "type": event_type,
        "room_id": "!r:example.org",
        "sender": "@u:example.org",
        "content": content,
        "hashes": {"sha256": "h"},
        "signatures": {"example.org": {"ed25519:a": "s"}},
        "depth": 4,
        "prev_events": ["$p"],
        "auth_events": ["$a"],
        "origin_server_ts": 1,
        # Not protected in room version 11:
        "origin": "example.org",
        "membership": "join",
        "prev_state": [],
        "redacts": "$x",
        "unsigned": {"age_ts": 1},
        "custom": True,
        **extra,
    }


PROTECTED_TOP_LEVEL = {
    "event_id",
    "type",
    "room_id",
    "sender",
    "content",
    "hashes",
    "signatures",
    "depth",
    "prev_events",
    "auth_events",
    "origin_server_ts",
}


def test_top_level_keys() -> None:
    redacted = redact_event(full_event("m.room.message", {"body": "hi"}))
    assert set(redacted) == PROTECTED_TOP_LEVEL


def test_state_key_is_kept() -> None:
    redacted = redact_event(full_event("m.room.topic", {"topic": "t"}, state_key=""))
    assert redacted["state_key"] == ""
    assert redacted["content"] == {}


CONTENT_CASES = [
    ("m.room.message", {"body": "hi", "msgtype": "m.text"}, {}),
    (
        "m.room.member",
        {
            "membership": "join",
            "displayname": "U",
            "avatar_url": "mxc://x/y",
            "join_authorised_via_users_server": "@admin:example.org",
            "reason": "because",
        },
        {"membership": "join", "join_authorised_via_users_server": "@admin:example.org"},
    ),
    (
        "m.room.member",
        {
            "membership": "invite",
            "third_party_invite": {
                "display_name": "alice",
                "signed": {"mxid": "@u:example.org", "token": "t", "signatures": {}},
            },
        },
        {
            "membership": "invite",
            "third_party_invite": {
                "signed": {"mxid": "@u:example.org", "token": "t", "signatures": {}}
            },
        },
    ),
    (
        "m.room.member",
        {"membership": "invite", "third_party_invite": {"display_name": "alice"}},
        {"membership": "invite", "third_party_invite": {}},
    ),
    (
        "m.room.member",
        {"membership": "invite", "third_party_invite": "not an object"},
        {"membership": "invite"},
    ),
    (
        "m.room.create",
        {"room_version": "11", "m.federate": False, "type": "m.space", "anything": [1]},
        {"room_version": "11", "m.federate": False, "type": "m.space", "anything": [1]},
    ),
    (
        "m.room.join_rules",
        {"join_rule": "restricted", "allow": [{"type": "m.room_membership"}], "x": 1},
        {"join_rule": "restricted", "allow": [{"type": "m.room_membership"}]},
    ),
    (
        "m.room.power_levels",
        {
            "ban": 50,
            "events": {"m.room.name": 50},
            "events_default": 0,
            "invite": 0,
            "kick": 50,
            "redact": 50,
            "state_default": 50,
            "users": {"@u:example.org": 100},
            "users_default": 0,
            "notifications": {"room": 50},
        },
        {
            "ban": 50,
            "events": {"m.room.name": 50},
            "events_default": 0,
            "invite": 0,
            "kick": 50,
            "redact": 50,
            "state_default": 50,
            "users": {"@u:example.org": 100},
            "users_default": 0,
        },
    ),
    (
        "m.room.history_visibility",
        {"history_visibility": "shared", "x": 1},
        {"history_visibility": "shared"},
    ),
    ("m.room.redaction", {"redacts": "$target", "reason": "spam"}, {"redacts": "$target"}),
    ("m.room.aliases", {"aliases": ["#a:example.org"]}, {}),
    ("m.room.name", {"name": "Room"}, {}),
]


@pytest.mark.parametrize(("event_type", "content", "expected"), CONTENT_CASES)
def test_content_per_type(
    event_type: str, content: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert redact_event(full_event(event_type, content))["content"] == expected


def test_does_not_mutate_and_deep_copies() -> None:
    event = full_event("m.room.power_levels", {"users": {"@u:example.org": 100}})
    original = copy.deepcopy(event)
    redacted = redact_event(event)
    assert event == original
    redacted["content"]["users"]["@u:example.org"] = 0
    redacted["signatures"]["example.org"]["ed25519:a"] = "changed"
    redacted["prev_events"].append("$new")
    assert event == original


def test_missing_or_malformed_content_becomes_empty_object() -> None:
    no_content = full_event("m.room.message", {})
    del no_content["content"]
    assert redact_event(no_content)["content"] == {}
    assert redact_event(full_event("m.room.member", "oops"))["content"] == {}  # type: ignore[arg-type]


def test_redaction_is_idempotent() -> None:
    event = full_event("m.room.member", {"membership": "join", "displayname": "U"})
    once = redact_event(event)
    assert redact_event(once) == once
