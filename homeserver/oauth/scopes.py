"""Matrix scopes: `urn:matrix:client:api:*` (full client-server API access) and
exactly one `urn:matrix:client:device:<device_id>`, which allocates the device."""

from __future__ import annotations

import re
from dataclasses import dataclass

from homeserver.handlers.tokens import (
    API_SCOPES,
    DEVICE_SCOPE_PREFIX,
    UNSTABLE_DEVICE_SCOPE_PREFIX,
)

DEVICE_PREFIXES = (DEVICE_SCOPE_PREFIX, UNSTABLE_DEVICE_SCOPE_PREFIX)
# RFC 3986 unreserved characters; 10 of them are enough to be unique per user.
DEVICE_ID = re.compile(r"[A-Za-z0-9._~-]{10,255}")


class ScopeError(ValueError):
    pass


@dataclass(frozen=True)
class MatrixScope:
    device_id: str
    tokens: tuple[str, ...]

    def __str__(self) -> str:
        return " ".join(self.tokens)


def parse_scope(scope: str | None) -> MatrixScope:
    """The granted scope: the Matrix tokens of the request (others, such as
    `openid`, are ignored, as RFC 6749 section 3.3 allows)."""
    tokens = (scope or "").split()
    api = [t for t in tokens if t in API_SCOPES]
    devices = [t for t in tokens if t.startswith(DEVICE_PREFIXES)]
    if not api:
        raise ScopeError("The scope must include urn:matrix:client:api:*")
    if len(set(devices)) != 1:
        raise ScopeError("The scope must include exactly one urn:matrix:client:device:<device_id>")
    device_scope = devices[0]
    device_id = device_scope.split(":device:", 1)[1]
    if not DEVICE_ID.fullmatch(device_id):
        raise ScopeError("A device id must be 10 to 255 letters, digits and the characters - . _ ~")
    granted: list[str] = []
    for token in tokens:
        if (token in API_SCOPES or token == device_scope) and token not in granted:
            granted.append(token)
    return MatrixScope(device_id, tuple(granted))
