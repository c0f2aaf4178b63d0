"""Unpadded Base64 as used throughout Matrix (spec appendix "Unpadded Base64")."""

import base64
import binascii

__all__ = ["decode_base64", "encode_base64", "encode_base64_urlsafe"]

_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")


def encode_base64(data: bytes) -> str:
    """Standard-alphabet Base64 without ``=`` padding."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def encode_base64_urlsafe(data: bytes) -> str:
    """URL-safe-alphabet Base64 (``-`` and ``_``) without ``=`` padding."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_base64(text: str) -> bytes:
    """Decode Base64 with or without padding, in the standard or URL-safe alphabet.

    Raises:
        ValueError: if ``text`` is not valid Base64.
    """
    if not isinstance(text, str):
        raise ValueError("base64 input must be a string")
    stripped = text.rstrip("=").translate(_URLSAFE_TO_STANDARD)
    if len(stripped) % 4 == 1:
        raise ValueError("invalid base64 length")
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        return base64.b64decode(padded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"invalid base64: {exc}") from exc
