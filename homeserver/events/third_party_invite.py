"""Authorisation of invites created from a third-party (e.g. email) invite.

Room version 11 authorisation rule 4.4.1: the invite must carry a ``signed`` block, signed
by one of the public keys of the matching ``m.room.third_party_invite`` event.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from homeserver.events.errors import AuthError
from homeserver.events.signing import decode_verify_key, verify_json_signature
from homeserver.events.state import StateMap, content_of, membership_of

__all__ = ["check_third_party_invite"]


def check_third_party_invite(event: Mapping[str, Any], auth_state: StateMap) -> None:
    """Return if the third-party invite in ``event`` is valid, else raise AuthError."""
    target = event["state_key"]
    if membership_of(target, auth_state) == "ban":
        raise AuthError(f"{target} is banned from the room")
    invite = content_of(event).get("third_party_invite")
    signed = invite.get("signed") if isinstance(invite, Mapping) else None
    if not isinstance(signed, Mapping):
        raise AuthError("third_party_invite has no 'signed' object")
    mxid, token = signed.get("mxid"), signed.get("token")
    if not isinstance(mxid, str) or not isinstance(token, str):
        raise AuthError("third_party_invite.signed needs 'mxid' and 'token'")
    if mxid != target:
        raise AuthError("third_party_invite.signed.mxid does not match the state_key")
    invite_event = auth_state.get(("m.room.third_party_invite", token))
    if invite_event is None:
        raise AuthError("no m.room.third_party_invite event matches the invite token")
    if invite_event.get("sender") != event.get("sender"):
        raise AuthError("sender does not match the sender of the m.room.third_party_invite")
    if not _is_signed_by_any(signed, list(_public_keys(content_of(invite_event)))):
        raise AuthError("third-party invite is not signed by any of the invite's public keys")


def _public_keys(content: Mapping[str, Any]) -> Iterator[Ed25519PublicKey]:
    encoded: list[object] = [content.get("public_key")]
    extra = content.get("public_keys")
    if isinstance(extra, list):
        encoded.extend(item.get("public_key") for item in extra if isinstance(item, Mapping))
    for text in encoded:
        if isinstance(text, str):
            try:
                yield decode_verify_key(text)
            except ValueError:
                continue


def _is_signed_by_any(signed: Mapping[str, Any], keys: list[Ed25519PublicKey]) -> bool:
    signatures = signed.get("signatures")
    if not isinstance(signatures, Mapping):
        return False
    for server_name, server_signatures in signatures.items():
        if not isinstance(server_signatures, Mapping):
            continue
        for key_id in server_signatures:
            if not isinstance(key_id, str) or not key_id.startswith("ed25519:"):
                continue
            if any(verify_json_signature(signed, server_name, key_id, key) for key in keys):
                return True
    return False
