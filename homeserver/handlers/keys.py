"""The server's own keys, kept in the data directory and created on first start:
the ed25519 key that signs room events and the key ring that signs access tokens.

Access-token keys form a ring (`token_keys.json`, mode 0600). Each key has a
`kid`, an algorithm (ES256 or EdDSA) and the time it starts signing. The
newest active key signs; every key stays published (JWKS) and accepted until
the longest-lived token it can have signed has expired, then it is dropped.
A rotated-in key is published some time before it starts signing, so that
resource servers caching the JWKS see it before they meet a token it signed.
The first key is `token_signing.pem` (ES256), kept for continuity: tokens
issued before the ring existed carry its thumbprint as `kid`."""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, KeySet, OKPKey

from homeserver.events.signing import decode_signing_key, encode_signing_key, generate_signing_key

logger = logging.getLogger(__name__)

SUPPORTED_ALGORITHMS = ("ES256", "EdDSA")
TOKEN_KEYS_FILE = "token_keys.json"
LEGACY_TOKEN_KEY_FILE = "token_signing.pem"

# RFC 8037's "EdDSA" is what JOSE libraries accept today; joserfc warns that
# RFC 9864 prefers the fully-specified "Ed25519". We deliberately keep "EdDSA".
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

TokenSigningKey = ECKey | OKPKey


@dataclass(frozen=True)
class TokenKey:
    kid: str
    alg: str
    created_ms: int
    # From when this key signs new tokens (it is published from creation on).
    activates_ms: int
    key: TokenSigningKey

    def public_jwk(self) -> dict[str, Any]:
        jwk = dict(self.key.as_dict(private=False))
        jwk.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return jwk

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "alg": self.alg,
            "created_ms": self.created_ms,
            "activates_ms": self.activates_ms,
            "jwk": dict(self.key.as_dict(private=True)),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenKey:
        alg = str(data["alg"])
        jwk = data["jwk"]
        key: TokenSigningKey = ECKey.import_key(jwk) if alg == "ES256" else OKPKey.import_key(jwk)
        return cls(str(data["kid"]), alg, int(data["created_ms"]), int(data["activates_ms"]), key)


def generate_token_key(alg: str, now_ms: int, activates_ms: int) -> TokenKey:
    if alg == "ES256":
        key: TokenSigningKey = ECKey.generate_key("P-256")
    elif alg == "EdDSA":
        key = OKPKey.generate_key("Ed25519")
    else:
        raise ValueError(f"unsupported token signing algorithm {alg!r}")
    return TokenKey(str(key.thumbprint()), alg, now_ms, activates_ms, key)


class TokenKeyRing:
    """The access-token keys. Reads are lock-free (the tuple is replaced whole
    on change), so Authlib's worker threads can sign while the event loop rotates."""

    def __init__(self, keys: list[TokenKey], max_token_lifetime_seconds: int) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self._max_lifetime_ms = max_token_lifetime_seconds * 1000
        self.max_lifetime_seconds = max_token_lifetime_seconds
        self._keys: tuple[TokenKey, ...] = ()
        self._keyset = KeySet([])
        self._replace(keys)

    def _replace(self, keys: list[TokenKey]) -> None:
        ordered = tuple(sorted(keys, key=lambda k: (k.activates_ms, k.created_ms)))
        self._keyset = KeySet([k.key for k in ordered])
        self._keys = ordered

    @property
    def keys(self) -> tuple[TokenKey, ...]:
        return self._keys

    def replace_with(self, other: TokenKeyRing) -> None:
        """Takes the keys of `other` (the file another worker of the cluster
        rotated)."""
        self._replace(list(other.keys))

    def signing_key(self, now_ms: int) -> TokenKey:
        """The newest key that is active at `now_ms`."""
        active = [k for k in self._keys if k.activates_ms <= now_ms]
        return active[-1] if active else self._keys[0]

    def find(self, kid: str) -> TokenKey | None:
        return next((k for k in self._keys if k.kid == kid), None)

    def verification_keys(self) -> KeySet:
        return self._keyset

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self._keys]}

    def pending_key(self, now_ms: int) -> TokenKey | None:
        return next((k for k in self._keys if k.activates_ms > now_ms), None)

    def rotation_due(self, now_ms: int, rotation_seconds: int, alg: str) -> bool:
        """True when no key is waiting to activate and the signing key is older
        than the rotation period or uses another algorithm than configured."""
        if self.pending_key(now_ms) is not None:
            return False
        current = self.signing_key(now_ms)
        if current.alg != alg:
            return True
        # A key signs from its activation, but never before it was created: the
        # first key's activation time is 0 ("from the start"), not its age.
        in_use_since = max(current.activates_ms, current.created_ms)
        return rotation_seconds > 0 and now_ms - in_use_since >= rotation_seconds * 1000

    def add(self, alg: str, now_ms: int, activate_after_seconds: int) -> TokenKey:
        key = generate_token_key(alg, now_ms, now_ms + activate_after_seconds * 1000)
        self._replace([*self._keys, key])
        logger.info(
            "new access-token key",
            extra={"kid": key.kid, "alg": alg, "activates_ms": key.activates_ms},
        )
        return key

    def prune(self, now_ms: int) -> list[str]:
        """Drops keys whose every token has expired: those superseded (by the
        activation of a newer key) longer ago than the longest token lifetime."""
        keep: list[TokenKey] = []
        dropped: list[str] = []
        for index, key in enumerate(self._keys):
            successor = next((k for k in self._keys[index + 1 :] if k.activates_ms <= now_ms), None)
            if successor is not None and successor.activates_ms + self._max_lifetime_ms < now_ms:
                dropped.append(key.kid)
            else:
                keep.append(key)
        if dropped:
            self._replace(keep)
            logger.info("retired access-token keys", extra={"kids": dropped})
        return dropped

    def to_json(self) -> dict[str, Any]:
        return {"keys": [k.to_json() for k in self._keys]}


@dataclass(frozen=True)
class ServerKeys:
    event_key_id: str
    event_key: Ed25519PrivateKey
    tokens: TokenKeyRing


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _replace_private(path: Path, data: bytes) -> None:
    """Writes `data` to `path` atomically, readable by the owner only."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    _write_private(temporary, data)
    os.replace(temporary, path)


def save_token_keys(path: Path, ring: TokenKeyRing) -> None:
    """Blocking file write: call through asyncio.to_thread on the event loop."""
    _replace_private(path, json.dumps(ring.to_json(), indent=1).encode())


def _legacy_key(pem_path: Path) -> TokenKey:
    if not pem_path.exists():
        _write_private(pem_path, ECKey.generate_key("P-256").as_pem(private=True))
    key = ECKey.import_key(pem_path.read_bytes())
    created_ms = int(pem_path.stat().st_mtime * 1000)
    return TokenKey(str(key.thumbprint()), "ES256", created_ms, 0, key)


def load_token_keys(
    keys_path: Path, legacy_pem_path: Path, max_token_lifetime_seconds: int
) -> TokenKeyRing:
    """The ring in `keys_path`, or a new one holding `token_signing.pem`
    (created if missing). Blocking file I/O: run it off the event loop."""
    if keys_path.exists():
        data = json.loads(keys_path.read_text())
        keys = [TokenKey.from_json(item) for item in data.get("keys", [])]
        return TokenKeyRing(keys, max_token_lifetime_seconds)
    ring = TokenKeyRing([_legacy_key(legacy_pem_path)], max_token_lifetime_seconds)
    save_token_keys(keys_path, ring)
    return ring


def load_or_create_keys(
    event_key_path: Path, token_key_path: Path, max_token_lifetime_seconds: int = 365 * 86400
) -> ServerKeys:
    """Blocking file I/O: call it through asyncio.to_thread from async code."""
    if not event_key_path.exists():
        key_id, key = generate_signing_key()
        _write_private(event_key_path, (encode_signing_key(key_id, key) + "\n").encode())
    key_id, key = decode_signing_key(event_key_path.read_text().strip())
    ring = load_token_keys(
        token_key_path.with_name(TOKEN_KEYS_FILE), token_key_path, max_token_lifetime_seconds
    )
    return ServerKeys(event_key_id=key_id, event_key=key, tokens=ring)
