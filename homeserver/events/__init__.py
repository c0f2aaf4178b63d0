"""Pure Matrix event primitives for room version 11.

Canonical JSON, content and reference hashes, ed25519 signing, the redaction algorithm,
the authorisation rules and the client event format. Nothing here performs I/O.
"""

from homeserver.events.auth_rules import (
    KNOWN_ROOM_VERSIONS,
    AuthError,
    StateMap,
    auth_types_for_event,
    check_auth,
    get_named_level,
    get_required_level_for_event,
    get_user_power_level,
)
from homeserver.events.b64 import decode_base64, encode_base64, encode_base64_urlsafe
from homeserver.events.canonical_json import canonical_json
from homeserver.events.client_format import to_client_event
from homeserver.events.hashing import (
    check_content_hash,
    compute_content_hash,
    compute_reference_hash,
    compute_reference_hash_event_id,
)
from homeserver.events.redaction import redact_event
from homeserver.events.redaction_auth import (
    can_apply_redaction,
    check_client_redaction,
    redacted_event_id,
)
from homeserver.events.signing import (
    decode_signing_key,
    decode_verify_key,
    encode_signing_key,
    encode_verify_key,
    generate_signing_key,
    hash_and_sign_event,
    sign_json,
    verify_json_signature,
)

__all__ = [
    "KNOWN_ROOM_VERSIONS",
    "AuthError",
    "StateMap",
    "auth_types_for_event",
    "can_apply_redaction",
    "canonical_json",
    "check_auth",
    "check_client_redaction",
    "check_content_hash",
    "compute_content_hash",
    "compute_reference_hash",
    "compute_reference_hash_event_id",
    "decode_base64",
    "decode_signing_key",
    "decode_verify_key",
    "encode_base64",
    "encode_base64_urlsafe",
    "encode_signing_key",
    "encode_verify_key",
    "generate_signing_key",
    "get_named_level",
    "get_required_level_for_event",
    "get_user_power_level",
    "hash_and_sign_event",
    "redact_event",
    "redacted_event_id",
    "sign_json",
    "to_client_event",
    "verify_json_signature",
]
