"""Content hashes and reference hashes of events (spec "Signing Events")."""

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from homeserver.events.b64 import decode_base64, encode_base64, encode_base64_urlsafe
from homeserver.events.canonical_json import canonical_json
from homeserver.events.redaction import redact_event

__all__ = [
    "check_content_hash",
    "compute_content_hash",
    "compute_reference_hash",
    "compute_reference_hash_event_id",
]

_CONTENT_HASH_EXCLUDED = frozenset({"unsigned", "signatures", "hashes"})
_REFERENCE_HASH_EXCLUDED = frozenset({"signatures", "unsigned", "age_ts", "event_id"})


def _content_hash_digest(event: Mapping[str, Any]) -> bytes:
    hashed = {key: value for key, value in event.items() if key not in _CONTENT_HASH_EXCLUDED}
    return hashlib.sha256(canonical_json(hashed)).digest()


def compute_content_hash(event: Mapping[str, Any]) -> str:
    """SHA-256 content hash of ``event`` as unpadded standard Base64.

    Covers the complete event except ``unsigned``, ``signatures`` and ``hashes``. Compute
    it over the PDU as sent over federation: for room versions 3+ that has no
    ``event_id`` key, so strip any locally added ``event_id`` first.

    Raises:
        ValueError: if the event cannot be encoded as canonical JSON.
    """
    return encode_base64(_content_hash_digest(event))


def check_content_hash(event: Mapping[str, Any]) -> bool:
    """Whether ``event["hashes"]["sha256"]`` matches the event's content hash."""
    hashes = event.get("hashes")
    if not isinstance(hashes, Mapping):
        return False
    claimed = hashes.get("sha256")
    if not isinstance(claimed, str):
        return False
    try:
        expected = decode_base64(claimed)
        actual = _content_hash_digest(event)
    except ValueError:
        return False
    return hmac.compare_digest(expected, actual)


def compute_reference_hash(event: Mapping[str, Any]) -> bytes:
    """Raw SHA-256 reference hash: over the redacted event without signatures/unsigned.

    ``event_id`` is ignored too: from room version 4 the event ID *is* the reference hash,
    so a copy stored on the event must not feed back into it.
    """
    redacted = redact_event(event)
    hashed = {k: v for k, v in redacted.items() if k not in _REFERENCE_HASH_EXCLUDED}
    return hashlib.sha256(canonical_json(hashed)).digest()


def compute_reference_hash_event_id(event: Mapping[str, Any]) -> str:
    """Event ID for room versions 4 and later: ``$`` + URL-safe unpadded reference hash.

    Raises:
        ValueError: if the event cannot be encoded as canonical JSON.
    """
    return "$" + encode_base64_urlsafe(compute_reference_hash(event))
