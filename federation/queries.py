"""Answers to other servers' queries (spec "Querying for information"):
our users' profiles and our room aliases."""

from __future__ import annotations

from typing import Any

from homeserver.errors import MatrixError
from homeserver.handlers.identifiers import parse_alias
from homeserver.server import HomeServer


def _server_of(user_id: str) -> str:
    return user_id.partition(":")[2]


class Queries:
    def __init__(self, homeserver: HomeServer) -> None:
        self._hs = homeserver

    async def profile(self, user_id: str, field: str | None) -> dict[str, Any]:
        """The public profile of one of our users (only `field`, if given)."""
        if not user_id.startswith("@") or _server_of(user_id) != self._hs.server_name:
            raise MatrixError(400, "M_INVALID_PARAM", "The user is not on this server")
        profile = await self._hs.profiles.get(user_id)  # 404 M_NOT_FOUND if there is none
        if field is None:
            return profile
        return {field: profile[field]} if field in profile else {}

    async def directory(self, alias: str) -> dict[str, Any]:
        """The room an alias of ours names, and the servers in that room
        (this one first)."""
        _, domain = parse_alias(alias)
        if domain != self._hs.server_name:
            raise MatrixError(400, "M_INVALID_PARAM", "The room alias is not on this server")
        found = await self._hs.directory.resolve(alias)  # 404 M_NOT_FOUND if unknown
        room_id = found["room_id"]
        members = await self._hs.storage.events.get_joined_member_contents(room_id)
        others = sorted({_server_of(user_id) for user_id in members} - {self._hs.server_name})
        return {"room_id": room_id, "servers": [self._hs.server_name, *others]}
