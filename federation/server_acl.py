"""Server access control lists (`m.room.server_acl`, spec "Server Access
Control Lists"): whether a room's ACL lets a server take part. Server names
are matched without their port, against `*`/`?` globs; `deny` wins over
`allow`; IP literals are refused when `allow_ip_literals` is false."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from homeserver.errors import MatrixError
from homeserver.server import HomeServer


def _host(server_name: str) -> str:
    if server_name.startswith("["):
        return server_name.partition("]")[0] + "]"
    return server_name.rsplit(":", 1)[0] if ":" in server_name else server_name


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _matches(patterns: object, host: str) -> bool:
    if not isinstance(patterns, list):
        return False
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        if re.fullmatch(regex, host, re.IGNORECASE):
            return True
    return False


def server_allowed(acl: Mapping[str, Any] | None, server_name: str) -> bool:
    """Whether the ACL content lets `server_name` in (no ACL: everyone)."""
    if acl is None:
        return True
    host = _host(server_name)
    if acl.get("allow_ip_literals", True) is False and _is_ip_literal(host):
        return False
    if _matches(acl.get("deny", []), host):
        return False
    return _matches(acl.get("allow", []), host)


async def room_allows(homeserver: HomeServer, room_id: str, server_name: str) -> bool:
    room = await homeserver.sender.current_room(room_id)
    acl = room.state.get(("m.room.server_acl", "")) if room is not None else None
    return server_allowed(acl["content"] if acl is not None else None, server_name)


async def check_room_allows(homeserver: HomeServer, room_id: str, server_name: str) -> None:
    """403 M_FORBIDDEN when the room's ACL shuts the server out."""
    if not await room_allows(homeserver, room_id, server_name):
        raise MatrixError(403, "M_FORBIDDEN", "Server is banned from this room by its ACL")
