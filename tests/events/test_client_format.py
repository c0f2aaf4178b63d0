from typing import Any

from homeserver.events import compute_reference_hash_event_id, to_client_event


def pdu(**extra: Any) -> dict[str, Any]:
    return {
        "event_id": "$abc",
        "type": "m.room.message",
        "room_id": "!r:example.org",
        "sender": "@u:example.org",
        "origin_server_ts": 1234,
        "content": {"body": "hello", "msgtype": "m.text"},
        "depth": 7,
        "prev_events": ["$p"],
        "auth_events": ["$a"],
        "hashes": {"sha256": "h"},
        "signatures": {"example.org": {"ed25519:a": "s"}},
        "origin": "example.org",
        "unsigned": {"age_ts": 1},
        **extra,
    }


def test_basic_shape() -> None:
    assert to_client_event(pdu()) == {
        "content": {"body": "hello", "msgtype": "m.text"},
        "event_id": "$abc",
        "origin_server_ts": 1234,
        "room_id": "!r:example.org",
        "sender": "@u:example.org",
        "type": "m.room.message",
    }


def test_state_event_and_no_room_id() -> None:
    event = pdu(type="m.room.topic", state_key="", content={"topic": "t"})
    client = to_client_event(event, include_room_id=False)
    assert client["state_key"] == ""
    assert "room_id" not in client


def test_unsigned_fields_only_when_given() -> None:
    because = {"type": "m.room.redaction", "event_id": "$r", "content": {"redacts": "$abc"}}
    client = to_client_event(
        pdu(type="m.room.topic", state_key="", content={"topic": "new"}),
        age_ms=42,
        transaction_id="txn1",
        prev_content={"topic": "old"},
    )
    assert client["unsigned"] == {
        "age": 42,
        "transaction_id": "txn1",
        "prev_content": {"topic": "old"},
    }
    redacted = to_client_event(pdu(), redacted_because=because)
    assert redacted["unsigned"] == {"redacted_because": because}
    assert redacted["content"] == {}
    assert to_client_event(pdu(), age_ms=0)["unsigned"] == {"age": 0}


def test_does_not_mutate_input() -> None:
    event = pdu()
    client = to_client_event(event, prev_content={"x": 1})
    client["content"]["body"] = "changed"
    assert event["content"]["body"] == "hello"


def test_event_id_computed_when_missing() -> None:
    event = pdu()
    del event["event_id"]
    assert to_client_event(event)["event_id"] == compute_reference_hash_event_id(event)


def test_redaction_event_gets_top_level_redacts() -> None:
    event = pdu(type="m.room.redaction", content={"redacts": "$target", "reason": "spam"})
    client = to_client_event(event)
    assert client["redacts"] == "$target"
    assert client["content"] == {"redacts": "$target", "reason": "spam"}
