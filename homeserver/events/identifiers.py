"""Small helpers for Matrix identifiers (``@user:server``, ``!room:server``)."""

from typing import TypeGuard

__all__ = ["is_valid_user_id", "server_name_of"]

_MAX_ID_LENGTH = 255


def server_name_of(identifier: str) -> str:
    """Return the server name part (after the first ``:``) of a Matrix identifier.

    Raises:
        ValueError: if the identifier has no server name part.
    """
    _, sep, server = identifier.partition(":")
    if not sep or not server:
        raise ValueError(f"identifier {identifier!r} has no server name")
    return server


def is_valid_user_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` looks like a user ID: ``@localpart:server``.

    Deliberately lenient about the localpart so historical user IDs are accepted.
    """
    if not isinstance(value, str) or not value.startswith("@"):
        return False
    if len(value.encode("utf-8")) > _MAX_ID_LENGTH:
        return False
    localpart, sep, server = value[1:].partition(":")
    if not sep or not localpart or not server:
        return False
    return not any(char.isspace() for char in value)
