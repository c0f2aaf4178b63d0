"""Server key documents (`/_matrix/key/v2/server`), pure: ours, signed, and
checking another server's answer before any of its keys is trusted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from homeserver.events import decode_verify_key, encode_verify_key, sign_json, verify_json_signature

# How long our published answer is valid: other servers refetch after this.
OWN_KEYS_VALIDITY_MS: Final = 24 * 3600 * 1000
# Spec: use the lesser of valid_until_ts and 7 days into the future.
MAX_KEY_VALIDITY_MS: Final = 7 * 24 * 3600 * 1000


class KeyDocumentError(ValueError):
    """A key answer that must not be trusted; the message says why."""


@dataclass(frozen=True)
class OldKey:
    key_id: str
    verify_key: str
    expired_ts: int


def own_key_document(
    server_name: str,
    key_id: str,
    key: Ed25519PrivateKey,
    now_ms: int,
    old_keys: tuple[OldKey, ...] = (),
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "server_name": server_name,
        "valid_until_ts": now_ms + OWN_KEYS_VALIDITY_MS,
        "verify_keys": {key_id: {"key": encode_verify_key(key.public_key())}},
        "old_verify_keys": {
            old.key_id: {"key": old.verify_key, "expired_ts": old.expired_ts} for old in old_keys
        },
    }
    return sign_json(document, server_name, key_id, key)


@dataclass(frozen=True)
class VerifiedKey:
    key_id: str
    verify_key: str  # unpadded base64
    valid_until_ts: int  # capped at fetch time + 7 days
    expired_ts: int | None  # set for old_verify_keys


@dataclass(frozen=True)
class VerifiedKeyDocument:
    server_name: str
    valid_until_ts: int  # as published (not capped): for notary answers
    keys: tuple[VerifiedKey, ...]


def verify_key_document(document: Any, server_name: str, now_ms: int) -> VerifiedKeyDocument:
    """Checks a server's own key answer: it is for `server_name`, well formed,
    and signed by at least one of its `verify_keys`, every such signature
    valid. Raises KeyDocumentError otherwise."""
    if not isinstance(document, Mapping):
        raise KeyDocumentError("the key answer is not a JSON object")
    if document.get("server_name") != server_name:
        raise KeyDocumentError(f"the key answer is not for {server_name}")
    valid_until = document.get("valid_until_ts")
    if not isinstance(valid_until, int) or isinstance(valid_until, bool):
        raise KeyDocumentError("valid_until_ts must be an integer")
    verify_keys = _key_map(document.get("verify_keys"), "verify_keys")
    old_keys = _key_map(document.get("old_verify_keys", {}), "old_verify_keys")
    signatures = document.get("signatures")
    own_signatures = signatures.get(server_name) if isinstance(signatures, Mapping) else None
    if not isinstance(own_signatures, Mapping):
        raise KeyDocumentError(f"the key answer is not signed by {server_name}")
    checked = 0
    for key_id in own_signatures:
        encoded = verify_keys.get(key_id)
        if encoded is None:
            continue  # signed by a key it no longer lists: not one to check with
        if not verify_json_signature(document, server_name, key_id, encoded[1]):
            raise KeyDocumentError(f"bad signature by {key_id}")
        checked += 1
    if not checked:
        raise KeyDocumentError(f"the key answer is not signed by any key of {server_name}")
    capped = min(valid_until, now_ms + MAX_KEY_VALIDITY_MS)
    keys = [VerifiedKey(key_id, text, capped, None) for key_id, (text, _) in verify_keys.items()]
    for key_id, (text, _) in old_keys.items():
        if key_id in verify_keys:
            continue
        expired = document["old_verify_keys"][key_id].get("expired_ts")
        if not isinstance(expired, int) or isinstance(expired, bool):
            raise KeyDocumentError(f"old key {key_id} has no integer expired_ts")
        keys.append(VerifiedKey(key_id, text, expired, expired))
    return VerifiedKeyDocument(server_name, valid_until, tuple(keys))


def _key_map(value: Any, field: str) -> dict[str, tuple[str, Any]]:
    """`{key_id: {"key": base64}}` -> `{key_id: (base64, public key)}` for
    ed25519 keys; other algorithms are skipped."""
    if not isinstance(value, Mapping):
        raise KeyDocumentError(f"{field} must be an object")
    keys: dict[str, tuple[str, Any]] = {}
    for key_id, entry in value.items():
        if not isinstance(key_id, str) or not key_id.startswith("ed25519:"):
            continue
        text = entry.get("key") if isinstance(entry, Mapping) else None
        if not isinstance(text, str):
            raise KeyDocumentError(f"{field}.{key_id} has no key")
        try:
            keys[key_id] = (text, decode_verify_key(text))
        except ValueError as exc:
            raise KeyDocumentError(f"{field}.{key_id} is not an ed25519 key") from exc
    return keys
