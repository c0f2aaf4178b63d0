"""Validation of Matrix identifiers received from clients."""

from __future__ import annotations

import re

from homeserver.errors import MatrixError

_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")
_USER_ID = re.compile(r"^@([^:]+):(.+)$")
# `!opaque:server`, or from room version 12 `!` + the create event's hash, no server part.
_ROOM_ID = re.compile(r"^![^:\s]+(:.+)?$")
_ALIAS = re.compile(r"^#([^:\s]+):(.+)$")


def validate_localpart(localpart: str, server_name: str) -> None:
    if not localpart or not _LOCALPART.match(localpart):
        raise MatrixError(
            400,
            "M_INVALID_USERNAME",
            "User names may contain only a-z, 0-9 and . _ = - / +",
        )
    if len(f"@{localpart}:{server_name}") > 255:
        raise MatrixError(400, "M_INVALID_USERNAME", "User name is too long")


def parse_user_id(user_id: str) -> tuple[str, str]:
    """(localpart, server name) of a user id, or M_INVALID_PARAM."""
    match = _USER_ID.match(user_id) if len(user_id) <= 255 else None
    if match is None:
        raise MatrixError(400, "M_INVALID_PARAM", f"Not a valid user id: {user_id[:80]!r}")
    return match.group(1), match.group(2)


def is_room_id(value: str) -> bool:
    return bool(_ROOM_ID.match(value)) and len(value) <= 255


def parse_alias(alias: str) -> tuple[str, str]:
    match = _ALIAS.match(alias) if len(alias) <= 255 else None
    if match is None:
        raise MatrixError(400, "M_INVALID_PARAM", f"Not a valid room alias: {alias[:80]!r}")
    return match.group(1), match.group(2)
