"""Validation of Matrix identifiers received from clients.

The grammars follow the spec's appendix on identifiers, leniently where the
spec allows historical forms: every identifier is at most 255 characters and
printable ASCII; user ids and aliases end in a server name."""

from __future__ import annotations

import re

from homeserver.errors import MatrixError

MAX_IDENTIFIER_LENGTH = 255
# Of user names one registers (the user id must also stay within 255).
MAX_LOCALPART_LENGTH = 200

_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")
_USER_ID = re.compile(r"^@([^:]+):(.+)$")
_ALIAS = re.compile(r"^#([^:\s]+):(.+)$")
# Server names: a DNS name, IPv4 or [IPv6] literal, and an optional port.
_SERVER_NAME = r"(?:[A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
# Printable ASCII without ':' (historical user id localparts, alias localparts).
_OPAQUE_NO_COLON = r"[\x21-\x39\x3b-\x7e]+"
_USER_ID_GRAMMAR = re.compile(rf"^@{_OPAQUE_NO_COLON}:{_SERVER_NAME}$")
# Alias localparts may be any Unicode but ':' (and no NUL, controls or spaces).
_ALIAS_GRAMMAR = re.compile(rf"^#[^:\s\x00-\x1f\x7f]+:{_SERVER_NAME}$")
# Room ids (`!opaque:server`, or without a server part from room version 12
# on) and event ids (`$opaque:server` in early room versions, `$hash` later).
_ROOM_ID_GRAMMAR = re.compile(r"^![\x21-\x7e]+$")
_EVENT_ID_GRAMMAR = re.compile(r"^\$[\x21-\x7e]+$")
# Device ids are opaque: any printable ASCII.
_DEVICE_ID_GRAMMAR = re.compile(r"^[\x20-\x7e]+$")


def _fits(value: str) -> bool:
    return len(value) <= MAX_IDENTIFIER_LENGTH


def is_user_id(value: str) -> bool:
    return _fits(value) and _USER_ID_GRAMMAR.match(value) is not None


def is_room_id(value: str) -> bool:
    return _fits(value) and _ROOM_ID_GRAMMAR.match(value) is not None


def is_event_id(value: str) -> bool:
    return _fits(value) and _EVENT_ID_GRAMMAR.match(value) is not None


def is_room_alias(value: str) -> bool:
    return _fits(value) and _ALIAS_GRAMMAR.match(value) is not None


def is_device_id(value: str) -> bool:
    return _fits(value) and _DEVICE_ID_GRAMMAR.match(value) is not None


def validate_localpart(localpart: str, server_name: str) -> None:
    if not localpart or not _LOCALPART.match(localpart):
        raise MatrixError(
            400,
            "M_INVALID_USERNAME",
            "User names may contain only a-z, 0-9 and . _ = - / +",
        )
    if (
        len(localpart) > MAX_LOCALPART_LENGTH
        or len(f"@{localpart}:{server_name}") > MAX_IDENTIFIER_LENGTH
    ):
        raise MatrixError(400, "M_INVALID_USERNAME", "User name is too long")


def parse_user_id(user_id: str) -> tuple[str, str]:
    """(localpart, server name) of a user id, or M_INVALID_PARAM."""
    match = _USER_ID.match(user_id) if is_user_id(user_id) else None
    if match is None:
        raise MatrixError(400, "M_INVALID_PARAM", f"Not a valid user id: {user_id[:80]!r}")
    return match.group(1), match.group(2)


def parse_alias(alias: str) -> tuple[str, str]:
    match = _ALIAS.match(alias) if is_room_alias(alias) else None
    if match is None:
        raise MatrixError(400, "M_INVALID_PARAM", f"Not a valid room alias: {alias[:80]!r}")
    return match.group(1), match.group(2)
