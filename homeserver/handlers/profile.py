"""Display names and avatars; a change is announced in every joined room."""

from __future__ import annotations

import logging
from typing import Any

from homeserver.errors import MatrixError, forbidden, not_found
from homeserver.handlers.event_sender import EventSender
from homeserver.handlers.remote_queries import RemoteQueries
from homeserver.storage import Storage

logger = logging.getLogger(__name__)

PROFILE_FIELDS = ("displayname", "avatar_url")
MAX_FIELD_LENGTH = 256


class Profiles:
    def __init__(self, storage: Storage, sender: EventSender) -> None:
        self._storage = storage
        self._sender = sender
        self._local_suffix = ""
        self._remote: RemoteQueries | None = None

    def attach_remote(self, server_name: str, remote: RemoteQueries | None) -> None:
        """Profiles of users on other servers come from `remote` (federation)."""
        self._local_suffix = f":{server_name}"
        self._remote = remote

    async def get(self, user_id: str) -> dict[str, Any]:
        if self._remote is not None and not user_id.endswith(self._local_suffix):
            return await self._remote.profile(user_id)
        user = await self._storage.users.get_user(user_id)
        if user is None or user.deactivated:
            raise not_found("Profile not found")
        profile: dict[str, Any] = {}
        if user.displayname is not None:
            profile["displayname"] = user.displayname
        if user.avatar_url is not None:
            profile["avatar_url"] = user.avatar_url
        return profile

    async def set_field(self, requester_id: str, user_id: str, field: str, value: Any) -> None:
        if requester_id != user_id:
            raise forbidden("You may only change your own profile")
        if value is not None and not isinstance(value, str):
            raise MatrixError(400, "M_BAD_JSON", f"{field} must be a string")
        if value is not None and len(value) > MAX_FIELD_LENGTH:
            raise MatrixError(400, "M_TOO_LARGE", f"{field} is longer than {MAX_FIELD_LENGTH}")
        if field == "avatar_url" and value and not value.startswith("mxc://"):
            raise MatrixError(400, "M_INVALID_PARAM", "avatar_url must be an mxc:// URI")
        await self._storage.users.set_profile_field(user_id, field, value or None)
        await self._announce(user_id)

    async def _announce(self, user_id: str) -> None:
        profile = await self.get(user_id)
        for row in await self._storage.events.get_rooms_for_user(user_id, ("join",)):
            content = {"membership": "join", **profile}
            try:
                await self._sender.send(
                    row.room_id, user_id, "m.room.member", content, state_key=user_id
                )
            except MatrixError as exc:
                logger.warning(
                    "could not update profile in room",
                    extra={"room_id": row.room_id, "user_id": user_id, "error": exc.error},
                )
