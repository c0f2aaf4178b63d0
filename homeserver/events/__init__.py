"""Pure Matrix event primitives for room versions 11 and 12.

Canonical JSON, content and reference hashes, ed25519 signing, the redaction algorithm,
the authorisation rules, room versions and room IDs, the client event format, the checks
on received PDUs (``pdu_format``, ``pdu_checks``) and state resolution (``state_res``).
Nothing here performs I/O.
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
from homeserver.events.pdu_format import MAX_PDU_BYTES
from homeserver.events.redaction import redact_event
from homeserver.events.redaction_auth import (
    can_apply_redaction,
    check_client_redaction,
    redacted_event_id,
)
from homeserver.events.room_ids import room_id_for_create_event, room_id_of
from homeserver.events.room_versions import (
    DEFAULT_ROOM_VERSION,
    ROOM_V11,
    ROOM_V12,
    SUPPORTED_ROOM_VERSIONS,
    RoomVersion,
    UnsupportedRoomVersionError,
    get_room_version,
    room_version_of_create,
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
    "DEFAULT_ROOM_VERSION",
    "KNOWN_ROOM_VERSIONS",
    "MAX_PDU_BYTES",
    "ROOM_V11",
    "ROOM_V12",
    "SUPPORTED_ROOM_VERSIONS",
    "AuthError",
    "RoomVersion",
    "StateMap",
    "UnsupportedRoomVersionError",
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
    "get_room_version",
    "get_user_power_level",
    "hash_and_sign_event",
    "redact_event",
    "redacted_event_id",
    "room_id_for_create_event",
    "room_id_of",
    "room_version_of_create",
    "sign_json",
    "to_client_event",
    "verify_json_signature",
]
