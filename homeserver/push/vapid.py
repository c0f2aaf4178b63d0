"""The server's VAPID key (RFC 8292), which signs every Web Push request.

A P-256 key pair, created on first start and kept beside the server's other
keys (`vapid_private.pem` in the data folder, mode 0600). Browsers subscribe
with its public key (served in /capabilities as `m.webpush.vapid`), and push
services accept only requests signed by the key a subscription was made with,
so the file must be kept: a new key means every browser subscribes again."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

VAPID_KEY_FILE: Final = "vapid_private.pem"


@dataclass(frozen=True)
class VapidKey:
    signer: Any  # py_vapid.Vapid (RFC 8292 "vapid t=...,k=..." headers)
    public_key: str  # uncompressed P-256 point, base64url without padding


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _create(path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first: use theirs
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def load_or_create_vapid_key(data_dir: Path) -> VapidKey:
    """Blocking file access: call it from a thread."""
    path = data_dir / VAPID_KEY_FILE
    if not path.exists():
        _create(path)
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise ValueError(f"{path} does not hold a P-256 private key")
    public = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return VapidKey(signer=Vapid(private_key=private_key), public_key=b64url(public))
