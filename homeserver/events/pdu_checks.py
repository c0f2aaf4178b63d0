"""The checks on receipt of a PDU after its format (server-server spec, "Checks performed
on receipt of a PDU"), as pure functions for the federation code to call in order:

1. :func:`~homeserver.events.pdu_format.check_pdu_format`: else drop it;
2. :func:`check_pdu_signatures`: else drop it;
3. :func:`with_content_hash_checked`: a mismatch means only the redacted form is kept;
4. :func:`check_pdu_auth_events`: the auth rules against its own auth events, which must
   be the ones the auth events selection picks: else reject it;
5. :func:`passes_auth` against the state before the event: else reject it;
6. :func:`passes_auth` against the room's current state: else soft-fail it.
"""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from homeserver.events.auth_rules import check_auth
from homeserver.events.auth_selection import auth_types_for_event
from homeserver.events.errors import AuthError
from homeserver.events.hashing import check_content_hash
from homeserver.events.identifiers import is_valid_user_id, server_name_of
from homeserver.events.redaction import redact_event
from homeserver.events.room_ids import create_event_id_for_room, room_id_of
from homeserver.events.room_versions import RoomVersion
from homeserver.events.signing import verify_json_signature
from homeserver.events.state import StateMap

__all__ = [
    "ContentHashResult",
    "SignatureError",
    "VerifyKeyLookup",
    "check_pdu_auth_events",
    "check_pdu_signatures",
    "passes_auth",
    "with_content_hash_checked",
]

VerifyKeyLookup = Callable[[str, str, int], Ed25519PublicKey | None]
"""``lookup(server_name, key_id, origin_server_ts)``: the server's public key with that ID
if it is known and was valid at that time, else ``None`` (its signatures are ignored)."""


class SignatureError(ValueError):
    """A server that must sign the PDU did not, or a signature does not verify."""


def _required_signers(pdu: Mapping[str, Any]) -> set[str]:
    """The sender's server and, for a restricted join, the authorising user's server.

    An invite from a third-party invite may come from another server than the sender's
    (whose user made the m.room.third_party_invite), so it needs no signature from it.
    """
    content = pdu.get("content")
    content = content if isinstance(content, Mapping) else {}
    signers: set[str] = set()
    is_member = pdu.get("type") == "m.room.member"
    third_party = (
        is_member and content.get("membership") == "invite" and "third_party_invite" in content
    )
    if not third_party:
        signers.add(server_name_of(str(pdu["sender"])))
    authoriser = content.get("join_authorised_via_users_server")
    if is_member and content.get("membership") == "join" and is_valid_user_id(authoriser):
        signers.add(server_name_of(authoriser))
    return signers


def check_pdu_signatures(pdu: Mapping[str, Any], lookup: VerifyKeyLookup) -> None:
    """Raise SignatureError unless every server that must sign ``pdu`` did, with at least
    one known key, and every signature by a known key of those servers verifies.

    Signatures are checked over the redacted event, so a redacted copy verifies too.
    Signatures by unknown or expired keys are ignored.
    """
    redacted = redact_event(pdu)
    signatures = pdu.get("signatures")
    signatures = signatures if isinstance(signatures, Mapping) else {}
    ts = pdu.get("origin_server_ts")
    ts = ts if isinstance(ts, int) else 0
    signers = _required_signers(pdu)
    if not signers:
        signers = {server for server in signatures if isinstance(server, str)}
    if not signers:
        raise SignatureError("the PDU carries no signatures")
    for server in sorted(signers):
        by_key = signatures.get(server)
        key_ids = (
            [key_id for key_id in by_key if isinstance(key_id, str)]
            if isinstance(by_key, Mapping)
            else []
        )
        verified = 0
        for key_id in key_ids:
            key = lookup(server, key_id, ts)
            if key is None:
                continue
            if not verify_json_signature(redacted, server, key_id, key):
                raise SignatureError(f"signature {key_id} of {server} does not verify")
            verified += 1
        if not verified:
            raise SignatureError(f"the PDU is not signed by {server} with a known key")


@dataclass(frozen=True)
class ContentHashResult:
    event: dict[str, Any]
    """The event to process further: as received, or redacted if the hash did not match."""
    redacted: bool


def with_content_hash_checked(pdu: Mapping[str, Any]) -> ContentHashResult:
    """The PDU if its content hash matches; otherwise its redacted form, the only part the
    signatures vouch for, which is what should be stored and processed."""
    if check_content_hash(pdu):
        return ContentHashResult(dict(pdu), redacted=False)
    return ContentHashResult(redact_event(pdu), redacted=True)


def check_pdu_auth_events(
    pdu: Mapping[str, Any],
    auth_events: Mapping[str, Mapping[str, Any]],
    room_version: RoomVersion,
    *,
    rejected: Collection[str] = frozenset(),
) -> dict[tuple[str, str], Mapping[str, Any]]:
    """Check ``pdu`` against its own auth events; return the auth state it was checked
    against.

    ``auth_events`` maps event IDs to events and must hold every event ``pdu`` lists in
    ``auth_events`` and, from room version 12, the room's create event (implied by the
    room ID). ``rejected`` names events rejected on receipt.

    Raises:
        AuthError: if an auth event is missing, rejected, from another room, listed twice
            for one key, not one the auth events selection picks (in room version 12,
            that includes the create event), or if the auth rules reject ``pdu``.
    """
    if pdu.get("type") == "m.room.create" and pdu.get("state_key") == "":
        if pdu.get("auth_events"):
            raise AuthError("m.room.create must have no auth events")
        check_auth(pdu, {}, room_version)
        return {}
    room_id = room_id_of(pdu)
    allowed_keys = set(auth_types_for_event(pdu, room_version))
    auth_state: dict[tuple[str, str], Mapping[str, Any]] = {}
    listed = pdu.get("auth_events")
    for auth_id in listed if isinstance(listed, list) else []:
        auth_event = _auth_event(auth_id, auth_events, rejected, room_id)
        key = (str(auth_event.get("type")), str(auth_event.get("state_key")))
        if key in auth_state:
            raise AuthError(f"auth_events list two events for {key}")
        if key not in allowed_keys or "state_key" not in auth_event:
            raise AuthError(f"auth event {auth_id} ({key}) is not one the event needs")
        auth_state[key] = auth_event
    if room_version.room_id_is_create_event_hash:
        create_id = create_event_id_for_room(str(room_id))
        auth_state[("m.room.create", "")] = _auth_event(create_id, auth_events, rejected, room_id)
    elif ("m.room.create", "") not in auth_state:
        raise AuthError("auth_events do not include the m.room.create event")
    check_auth(pdu, auth_state, room_version)
    return auth_state


def _auth_event(
    auth_id: object,
    auth_events: Mapping[str, Mapping[str, Any]],
    rejected: Collection[str],
    room_id: str | None,
) -> Mapping[str, Any]:
    auth_event = auth_events.get(auth_id) if isinstance(auth_id, str) else None
    if auth_event is None:
        raise AuthError(f"auth event {auth_id} is not known")
    if auth_id in rejected:
        raise AuthError(f"auth event {auth_id} was rejected")
    if room_id_of(auth_event) != room_id:
        raise AuthError(f"auth event {auth_id} belongs to another room")
    return auth_event


def passes_auth(pdu: Mapping[str, Any], state: StateMap, room_version: RoomVersion) -> bool:
    """Whether the auth rules allow ``pdu`` against ``state`` (the state before it, to
    decide rejection, or the room's current state, to decide soft failure)."""
    try:
        check_auth(pdu, state, room_version)
    except AuthError:
        return False
    return True
