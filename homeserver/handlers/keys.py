"""The server's own keys, kept in the data directory and created on first start:
the ed25519 key that signs room events and the ES256 key that signs access tokens."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import ECKey

from homeserver.events.signing import decode_signing_key, encode_signing_key, generate_signing_key


@dataclass(frozen=True)
class ServerKeys:
    event_key_id: str
    event_key: Ed25519PrivateKey
    token_key: ECKey

    @property
    def token_key_id(self) -> str:
        return str(self.token_key.thumbprint())


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_or_create_keys(event_key_path: Path, token_key_path: Path) -> ServerKeys:
    if not event_key_path.exists():
        key_id, key = generate_signing_key()
        _write_private(event_key_path, (encode_signing_key(key_id, key) + "\n").encode())
    key_id, key = decode_signing_key(event_key_path.read_text().strip())

    if not token_key_path.exists():
        _write_private(token_key_path, ECKey.generate_key("P-256").as_pem(private=True))
    token_key = ECKey.import_key(token_key_path.read_bytes())
    return ServerKeys(event_key_id=key_id, event_key=key, token_key=token_key)
