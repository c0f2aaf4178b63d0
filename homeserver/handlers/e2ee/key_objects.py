"""Checking the key objects clients upload (device keys, one-time and
fallback keys, cross-signing keys) and the signatures on them. Pure: no I/O.

Each object is kept as the client sent it; these checks only refuse what is
malformed or not the requester's, with a clear M_BAD_JSON / M_INVALID_PARAM."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeserver.errors import bad_json, forbidden, invalid_param
from homeserver.events.signing import decode_verify_key, verify_json_signature

# One-time keys accepted in one /keys/upload (clients upload 50 or so at a time).
MAX_ONE_TIME_KEYS_PER_UPLOAD = 100
CROSS_SIGNING_TYPES = ("master", "self_signing", "user_signing")

# Matched whole (fullmatch); spec/openapi.yaml states the same grammars.
_ALGORITHM = re.compile(r"[A-Za-z0-9._\-]{1,128}")
# `<algorithm>:<key id>`; the key id is printable ASCII, as device ids are.
_KEY_ID = re.compile(r"[A-Za-z0-9._\-]{1,128}:[\x20-\x7e]{1,255}")


def optional_field(container: Mapping[str, Any], key: str) -> Any:
    """The value of an optional field: absent is None, an explicit null is
    refused like any other wrong type (the spec has no nullable key fields)."""
    if key in container and container[key] is None:
        raise bad_json(f"{key} must not be null (leave it out instead)")
    return container.get(key)


@dataclass(frozen=True)
class UploadedKey:
    algorithm: str
    key_id: str  # the part after the colon
    value: Any  # a string (unsigned curve25519) or a signed object


def check_device_keys(value: Any, user_id: str, device_id: str) -> dict[str, Any]:
    """A `device_keys` object for the requester's own device."""
    if not isinstance(value, dict):
        raise bad_json("device_keys must be an object")
    if value.get("user_id") != user_id or value.get("device_id") != device_id:
        # Not a malformed request but someone else's keys (the spec's 403 of
        # device_signing/upload: "not authorised for any other reason").
        raise forbidden("device_keys.user_id and device_id must be your own user and device")
    algorithms = value.get("algorithms")
    if not isinstance(algorithms, list) or not all(
        isinstance(a, str) and _ALGORITHM.fullmatch(a) for a in algorithms
    ):
        raise bad_json("device_keys.algorithms must be a list of algorithm names")
    keys = value.get("keys")
    if not isinstance(keys, dict) or not keys:
        raise bad_json("device_keys.keys must be an object of key ids to keys")
    for key_id, key in keys.items():
        if not _KEY_ID.fullmatch(key_id) or not isinstance(key, str) or not key:
            raise bad_json(f"device_keys.keys: {key_id[:64]!r} must map <algorithm>:<id> to a key")
        if key_id.split(":", 1)[1] != device_id:
            raise forbidden(f"device_keys.keys: {key_id[:64]!r} names another device")
    _check_signatures_shape(value.get("signatures"), "device_keys", required=True)
    return value


def check_uploaded_keys(value: Any, field: str) -> list[UploadedKey]:
    """`one_time_keys` or `fallback_keys`: `<algorithm>:<key id>` -> key."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise bad_json(f"{field} must be an object")
    keys = []
    for full_id, key in value.items():
        if not isinstance(full_id, str) or not _KEY_ID.fullmatch(full_id):
            raise bad_json(f"{field}: key ids must look like <algorithm>:<key id>")
        algorithm, key_id = full_id.split(":", 1)
        if isinstance(key, str):
            if not key:
                raise bad_json(f"{field}: {full_id[:64]!r} is empty")
        elif isinstance(key, dict):
            if not isinstance(key.get("key"), str) or not key["key"]:
                raise bad_json(f"{field}: {full_id[:64]!r} needs a 'key' string")
            _check_signatures_shape(key.get("signatures"), f"{field}.{full_id}", required=False)
        else:
            raise bad_json(f"{field}: {full_id[:64]!r} must be a key string or a signed key object")
        keys.append(UploadedKey(algorithm, key_id, key))
    return keys


def check_fallback_keys(value: Any) -> list[UploadedKey]:
    keys = check_uploaded_keys(value, "fallback_keys")
    algorithms = [k.algorithm for k in keys]
    if len(set(algorithms)) != len(algorithms):
        raise invalid_param("fallback_keys: at most one fallback key per algorithm")
    return keys


def check_cross_signing_key(value: Any, key_type: str, user_id: str) -> str:
    """A cross-signing key object of the requester; returns its public key."""
    field = f"{key_type}_key"
    if not isinstance(value, dict):
        raise bad_json(f"{field} must be an object")
    if value.get("user_id") != user_id:
        raise forbidden(f"{field}.user_id must be your own user id")
    usage = value.get("usage")
    if not isinstance(usage, list) or key_type not in usage:
        raise bad_json(f"{field}.usage must include {key_type!r}")
    keys = value.get("keys")
    if not isinstance(keys, dict) or len(keys) != 1:
        raise bad_json(f"{field}.keys must hold exactly one key")
    ((key_id, public_key),) = keys.items()
    if not isinstance(public_key, str) or key_id != f"ed25519:{public_key}":
        raise bad_json(f"{field}.keys must map ed25519:<public key> to that public key")
    try:
        decode_verify_key(public_key)
    except ValueError as exc:
        raise bad_json(f"{field} is not an ed25519 public key") from exc
    _check_signatures_shape(value.get("signatures"), field, required=False)
    return public_key


def _check_signatures_shape(value: Any, field: str, *, required: bool) -> None:
    if value is None and not required:
        return
    if not isinstance(value, dict) or not all(
        isinstance(signer, dict) and all(isinstance(s, str) for s in signer.values())
        for signer in value.values()
    ):
        raise bad_json(f"{field}.signatures must be an object of user ids to key ids to signatures")


def is_signed_by(obj: Mapping[str, Any], user_id: str, public_key: str) -> bool:
    """Whether `obj` carries a valid signature of `user_id`'s ed25519 key
    `public_key` (a cross-signing key: the key id is the public key)."""
    return verify_signature(obj, user_id, f"ed25519:{public_key}", public_key)


def verify_signature(obj: Mapping[str, Any], user_id: str, key_id: str, public_key: str) -> bool:
    try:
        verify_key = decode_verify_key(public_key)
    except ValueError:
        return False
    return verify_json_signature(obj, user_id, key_id, verify_key)


def without_signatures(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What a signature covers (signatures and unsigned left out)."""
    return {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}


def device_ed25519_key(obj: Mapping[str, Any], device_id: str) -> str | None:
    keys = obj.get("keys")
    value = keys.get(f"ed25519:{device_id}") if isinstance(keys, dict) else None
    return value if isinstance(value, str) else None


def check_user_device_map(value: Any, field: str) -> dict[str, Any]:
    """An object keyed by user id (the shape of claim, query and sendToDevice)."""
    if not isinstance(value, dict):
        raise bad_json(f"{field} must be an object keyed by user id")
    for user_id in value:
        if not isinstance(user_id, str) or not user_id.startswith("@") or len(user_id) > 255:
            raise bad_json(f"{field}: {str(user_id)[:64]!r} is not a user id")
    return value


def check_timeout(body: dict[str, Any]) -> None:
    """`timeout` of keys/query and keys/claim: an integer when given (only
    remote servers would be waited for; this server answers at once)."""
    if "timeout" not in body:
        return
    timeout = body["timeout"]
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise bad_json("timeout must be an integer")


def key_error(errcode: str, error: str) -> dict[str, str]:
    return {"errcode": errcode, "error": error}
