import copy
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from homeserver.events import (
    check_content_hash,
    decode_base64,
    decode_signing_key,
    decode_verify_key,
    encode_signing_key,
    encode_verify_key,
    generate_signing_key,
    hash_and_sign_event,
    redact_event,
    sign_json,
    verify_json_signature,
)

# From the spec's "Cryptographic Test Vectors" appendix.
SPEC_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
SPEC_KEY = Ed25519PrivateKey.from_private_bytes(decode_base64(SPEC_SEED))


def event_template() -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "room_id": "!r:example.org",
        "sender": "@u:example.org",
        "origin_server_ts": 1700000000000,
        "depth": 5,
        "prev_events": ["$a"],
        "auth_events": ["$b"],
        "content": {"msgtype": "m.text", "body": "hello"},
        "unsigned": {"age_ts": 1700000000000},
    }


@pytest.mark.parametrize(
    ("obj", "signature"),
    [
        (
            {},
            "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ",
        ),
        (
            {"one": 1, "two": "Two"},
            "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw",
        ),
    ],
)
def test_sign_json_spec_vectors(obj: dict[str, Any], signature: str) -> None:
    expected = {**obj, "signatures": {"domain": {"ed25519:1": signature}}}
    result = sign_json(obj, "domain", "ed25519:1", SPEC_KEY)
    assert result is obj
    assert obj == expected
    assert verify_json_signature(obj, "domain", "ed25519:1", SPEC_KEY.public_key())


def test_sign_json_keeps_existing_signatures_and_unsigned() -> None:
    obj: dict[str, Any] = {
        "a": 1,
        "unsigned": {"age": 3},
        "signatures": {"other.org": {"ed25519:x": "sig"}},
    }
    sign_json(obj, "example.org", "ed25519:a_abcd", SPEC_KEY)
    assert obj["unsigned"] == {"age": 3}
    assert obj["signatures"]["other.org"] == {"ed25519:x": "sig"}
    assert "ed25519:a_abcd" in obj["signatures"]["example.org"]


def test_signature_round_trip_and_tampering() -> None:
    key_id, key = generate_signing_key()
    obj = sign_json({"name": "example.org", "n": 1}, "example.org", key_id, key)
    public = key.public_key()
    assert verify_json_signature(obj, "example.org", key_id, public)

    # `unsigned` and other servers' signatures are not covered.
    with_unsigned = {**copy.deepcopy(obj), "unsigned": {"anything": True}}
    with_unsigned["signatures"]["another.org"] = {"ed25519:z": "zzz"}
    assert verify_json_signature(with_unsigned, "example.org", key_id, public)

    tampered = {**copy.deepcopy(obj), "n": 2}
    assert not verify_json_signature(tampered, "example.org", key_id, public)
    assert not verify_json_signature(obj, "other.org", key_id, public)
    assert not verify_json_signature(obj, "example.org", "ed25519:nope", public)
    other_key = Ed25519PrivateKey.generate().public_key()
    assert not verify_json_signature(obj, "example.org", key_id, other_key)


@pytest.mark.parametrize(
    "signatures",
    [
        None,
        "x",
        {"example.org": "x"},
        {"example.org": {"ed25519:1": 5}},
        {"example.org": {"ed25519:1": "%%"}},
    ],
)
def test_verify_handles_malformed_signatures(signatures: object) -> None:
    obj: dict[str, Any] = {"a": 1}
    if signatures is not None:
        obj["signatures"] = signatures
    assert not verify_json_signature(obj, "example.org", "ed25519:1", SPEC_KEY.public_key())


def test_hash_and_sign_event_signs_the_redacted_event() -> None:
    key_id, key = generate_signing_key()
    event = event_template()
    result = hash_and_sign_event(event, "example.org", key_id, key)
    assert result is event
    assert check_content_hash(event)
    assert set(event["signatures"]) == {"example.org"}
    assert event["unsigned"] == {"age_ts": 1700000000000}
    public = key.public_key()
    # The signature covers the redacted form, so it holds for the full and redacted event.
    assert verify_json_signature(redact_event(event), "example.org", key_id, public)
    assert verify_json_signature(redact_event(redact_event(event)), "example.org", key_id, public)


def test_hash_and_sign_event_detects_tampering() -> None:
    key_id, key = generate_signing_key()
    public = key.public_key()
    event = hash_and_sign_event(event_template(), "example.org", key_id, key)

    body_edited = copy.deepcopy(event)
    body_edited["content"]["body"] = "evil"
    # The body is not covered by the signature, only by the (now wrong) content hash.
    assert verify_json_signature(redact_event(body_edited), "example.org", key_id, public)
    assert not check_content_hash(body_edited)

    sender_edited = copy.deepcopy(event)
    sender_edited["sender"] = "@mallory:example.org"
    assert not verify_json_signature(redact_event(sender_edited), "example.org", key_id, public)

    hash_edited = copy.deepcopy(event)
    hash_edited["content"]["body"] = "evil"
    hash_edited["hashes"]["sha256"] = "recomputed-by-attacker"
    assert not verify_json_signature(redact_event(hash_edited), "example.org", key_id, public)


def test_generate_signing_key_id_format() -> None:
    ids = {generate_signing_key()[0] for _ in range(20)}
    assert all(re.fullmatch(r"ed25519:a_[A-Za-z0-9]{4}", key_id) for key_id in ids)
    assert len(ids) > 1


def test_signing_key_round_trip() -> None:
    key_id, key = generate_signing_key()
    text = encode_signing_key(key_id, key)
    algorithm, version, seed = text.split(" ")
    assert (algorithm, f"{algorithm}:{version}") == ("ed25519", key_id)
    assert "=" not in seed and len(decode_base64(seed)) == 32
    decoded_id, decoded_key = decode_signing_key(text + "\n")
    assert decoded_id == key_id
    assert decoded_key.private_bytes_raw() == key.private_bytes_raw()


def test_decode_signing_key_spec_seed() -> None:
    key_id, key = decode_signing_key(f"ed25519 1 {SPEC_SEED}")
    assert key_id == "ed25519:1"
    assert key.private_bytes_raw() == SPEC_KEY.private_bytes_raw()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        f"ed25519 a_abcd {SPEC_SEED} extra",
        f"rsa a_abcd {SPEC_SEED}",
        f"ed25519 bad:version {SPEC_SEED}",
        "ed25519 a_abcd not*base64",
        "ed25519 a_abcd AAAA",
    ],
)
def test_decode_signing_key_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        decode_signing_key(text)


def test_encode_signing_key_rejects_bad_key_id() -> None:
    with pytest.raises(ValueError):
        encode_signing_key("a_abcd", SPEC_KEY)


def test_verify_key_round_trip() -> None:
    public = SPEC_KEY.public_key()
    text = encode_verify_key(public)
    assert "=" not in text and len(decode_base64(text)) == 32
    assert decode_verify_key(text) == public
    with pytest.raises(ValueError):
        decode_verify_key("AAAA")
