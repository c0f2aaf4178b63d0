"""Ed25519 signing keys, JSON signatures and event signing (spec "Signing JSON")."""

import secrets
import string
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from homeserver.events.b64 import decode_base64, encode_base64
from homeserver.events.canonical_json import canonical_json
from homeserver.events.hashing import compute_content_hash
from homeserver.events.redaction import redact_event

__all__ = [
    "decode_signing_key",
    "decode_verify_key",
    "encode_signing_key",
    "encode_verify_key",
    "generate_signing_key",
    "hash_and_sign_event",
    "sign_json",
    "verify_json_signature",
]

_ALGORITHM = "ed25519"
_SEED_LENGTH = 32
_VERSION_ALPHABET = string.ascii_letters + string.digits
_VERSION_CHARS = frozenset(_VERSION_ALPHABET + "_")


def generate_signing_key() -> tuple[str, Ed25519PrivateKey]:
    """Create a new key; its ID looks like ``ed25519:a_XyZ1``."""
    version = "a_" + "".join(secrets.choice(_VERSION_ALPHABET) for _ in range(4))
    return f"{_ALGORITHM}:{version}", Ed25519PrivateKey.generate()


def _split_key_id(key_id: str) -> str:
    algorithm, sep, version = key_id.partition(":")
    if algorithm != _ALGORITHM or not sep or not _is_valid_version(version):
        raise ValueError(f"not an ed25519 key ID: {key_id!r}")
    return version


def _is_valid_version(version: str) -> bool:
    return bool(version) and all(char in _VERSION_CHARS for char in version)


def _seed_of(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes_raw()


def encode_signing_key(key_id: str, key: Ed25519PrivateKey) -> str:
    """One-line key file format: ``ed25519 <version> <unpadded base64 seed>``."""
    version = _split_key_id(key_id)
    return f"{_ALGORITHM} {version} {encode_base64(_seed_of(key))}"


def decode_signing_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """Inverse of :func:`encode_signing_key`; surrounding whitespace is ignored.

    Raises:
        ValueError: if ``text`` is not exactly one well-formed ed25519 key line.
    """
    parts = text.split()
    if len(parts) != 3:
        raise ValueError("signing key must be '<algorithm> <version> <base64 seed>'")
    algorithm, version, encoded_seed = parts
    if algorithm != _ALGORITHM:
        raise ValueError(f"unsupported signing key algorithm {algorithm!r}")
    if not _is_valid_version(version):
        raise ValueError(f"invalid signing key version {version!r}")
    seed = decode_base64(encoded_seed)
    if len(seed) != _SEED_LENGTH:
        raise ValueError("ed25519 seed must be 32 bytes")
    return f"{_ALGORITHM}:{version}", Ed25519PrivateKey.from_private_bytes(seed)


def encode_verify_key(key: Ed25519PublicKey) -> str:
    """The public key's 32 raw bytes as unpadded Base64."""
    return encode_base64(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def decode_verify_key(text: str) -> Ed25519PublicKey:
    """Parse an unpadded Base64 ed25519 public key.

    Raises:
        ValueError: if ``text`` is not a Base64-encoded 32-byte key.
    """
    raw = decode_base64(text)
    if len(raw) != _SEED_LENGTH:
        raise ValueError("ed25519 public key must be 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def _signing_payload(obj: Mapping[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


def sign_json(
    obj: dict[str, Any], server_name: str, key_id: str, key: Ed25519PrivateKey
) -> dict[str, Any]:
    """Add ``signatures[server_name][key_id]`` to ``obj`` (mutated and returned).

    The signature covers the canonical JSON of ``obj`` without ``signatures`` and
    ``unsigned``; existing signatures are kept.

    Raises:
        ValueError: if ``obj`` cannot be encoded as canonical JSON, or ``signatures`` is
            not an object.
    """
    _split_key_id(key_id)
    signature = encode_base64(key.sign(_signing_payload(obj)))
    signatures = obj.setdefault("signatures", {})
    if not isinstance(signatures, dict):
        raise ValueError("'signatures' must be an object")
    server_signatures = signatures.setdefault(server_name, {})
    if not isinstance(server_signatures, dict):
        raise ValueError(f"'signatures.{server_name}' must be an object")
    server_signatures[key_id] = signature
    return obj


def verify_json_signature(
    obj: Mapping[str, Any], server_name: str, key_id: str, public_key: Ed25519PublicKey
) -> bool:
    """Whether ``obj`` carries a valid ``signatures[server_name][key_id]`` by ``public_key``.

    Never raises for malformed input: anything that is not a valid signature is ``False``.
    """
    signatures = obj.get("signatures")
    if not isinstance(signatures, Mapping):
        return False
    server_signatures = signatures.get(server_name)
    if not isinstance(server_signatures, Mapping):
        return False
    encoded = server_signatures.get(key_id)
    if not isinstance(encoded, str) or not key_id.startswith(f"{_ALGORITHM}:"):
        return False
    try:
        public_key.verify(decode_base64(encoded), _signing_payload(obj))
    except (InvalidSignature, ValueError):
        return False
    return True


def hash_and_sign_event(
    event: dict[str, Any], server_name: str, key_id: str, key: Ed25519PrivateKey
) -> dict[str, Any]:
    """Set ``hashes.sha256`` and add this server's signature to ``event`` (mutated, returned).

    The signature is computed over the redacted form of the event, so it stays valid when
    the event is redacted; the content hash protects the rest. Pass the PDU as it will be
    sent over federation: for room versions 4+ that means without an ``event_id`` key
    (compute the ID afterwards with ``compute_reference_hash_event_id``), since the content
    hash covers every key except ``unsigned``, ``signatures`` and ``hashes``.
    """
    hashes = event.get("hashes")
    event["hashes"] = {**(hashes if isinstance(hashes, Mapping) else {})}
    event["hashes"]["sha256"] = compute_content_hash(event)
    redacted = sign_json(redact_event(event), server_name, key_id, key)
    event["signatures"] = redacted["signatures"]
    return event
