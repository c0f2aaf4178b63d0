"""Room aliases and the public room directory."""

from __future__ import annotations

import re
from typing import Any

from homeserver.errors import MatrixError, forbidden, not_found
from homeserver.events import get_named_level, get_user_power_level
from homeserver.handlers.identifiers import parse_alias
from homeserver.handlers.remote_queries import RemoteQueries
from homeserver.storage import Storage

MAX_PUBLIC_ROOMS = 500
_SINCE = re.compile(r"o[0-9]{1,9}")


class Directory:
    def __init__(self, storage: Storage, server_name: str) -> None:
        self._storage = storage
        self._server_name = server_name
        # Other servers' aliases are resolved through this (federation), if set.
        self.remote: RemoteQueries | None = None

    def _check_local_alias(self, alias: str) -> None:
        _, domain = parse_alias(alias)
        if domain != self._server_name:
            raise MatrixError(400, "M_INVALID_PARAM", "Aliases must be on this server")

    async def resolve(self, alias: str) -> dict[str, Any]:
        _, domain = parse_alias(alias)
        if self.remote is not None and domain != self._server_name:
            return await self.remote.resolve_alias(alias)
        found = await self._storage.account_data.get_alias(alias)
        if found is None:
            raise not_found(f"Room alias {alias} not found")
        return {"room_id": found[0], "servers": [self._server_name]}

    async def create(self, alias: str, room_id: str, user_id: str) -> None:
        self._check_local_alias(alias)
        membership = await self._storage.events.get_membership(room_id, user_id)
        if membership is None or membership.membership != "join":
            raise forbidden("You must be in the room to give it an alias")
        if not await self._storage.account_data.create_alias(alias, room_id, user_id):
            raise MatrixError(409, "M_UNKNOWN", f"Room alias {alias} already exists")

    async def delete(self, alias: str, user_id: str, is_admin: bool) -> None:
        self._check_local_alias(alias)
        found = await self._storage.account_data.get_alias(alias)
        if found is None:
            raise not_found(f"Room alias {alias} not found")
        room_id, creator = found
        if creator != user_id and not is_admin and not await self._is_moderator(room_id, user_id):
            raise forbidden("Only the alias creator or a room moderator may delete it")
        await self._storage.account_data.delete_alias(alias)

    async def _is_moderator(self, room_id: str, user_id: str) -> bool:
        state = {
            key: stored.event
            for key, stored in (
                await self._storage.events.get_current_state(
                    room_id, [("m.room.create", ""), ("m.room.power_levels", "")]
                )
            ).items()
        }
        needed = get_named_level("state_default", state, 50)
        return get_user_power_level(user_id, state) >= needed

    async def set_visibility(self, room_id: str, user_id: str, visibility: Any) -> None:
        if visibility not in ("public", "private"):
            raise MatrixError(400, "M_INVALID_PARAM", "visibility must be public or private")
        if not await self._storage.events.room_exists(room_id):
            raise not_found("Unknown room")
        if not await self._is_moderator(room_id, user_id):
            raise forbidden("Only room moderators may publish the room")
        await self._storage.events.set_room_public(room_id, visibility == "public")

    async def get_visibility(self, room_id: str) -> str:
        if not await self._storage.events.room_exists(room_id):
            raise not_found("Unknown room")
        return "public" if await self._storage.events.is_room_public(room_id) else "private"

    async def public_rooms(
        self, limit: int | None, since: str | None, search: str | None
    ) -> dict[str, Any]:
        room_ids = await self._storage.events.list_public_rooms()
        counts = await self._storage.events.count_joined_members(room_ids)
        chunk = []
        for room_id in room_ids[:MAX_PUBLIC_ROOMS]:
            entry = await self._room_entry(room_id, counts.get(room_id, 0))
            haystack = " ".join(str(entry.get(k, "")) for k in ("name", "topic", "canonical_alias"))
            if search and search.lower() not in haystack.lower():
                continue
            chunk.append(entry)
        chunk.sort(key=lambda e: (-int(e["num_joined_members"]), e["room_id"]))
        offset = 0
        if since:
            if _SINCE.fullmatch(since) is None:
                raise MatrixError(400, "M_INVALID_PARAM", "Invalid since token")
            offset = int(since[1:])
        page_size = len(chunk) if limit is None else max(0, limit)
        page = chunk[offset : offset + page_size]
        result: dict[str, Any] = {"chunk": page, "total_room_count_estimate": len(chunk)}
        if offset + page_size < len(chunk):
            result["next_batch"] = f"o{offset + page_size}"
        if offset > 0:
            result["prev_batch"] = f"o{max(0, offset - page_size)}"
        return result

    async def _room_entry(self, room_id: str, joined: int) -> dict[str, Any]:
        keys = [
            ("m.room.name", ""),
            ("m.room.topic", ""),
            ("m.room.canonical_alias", ""),
            ("m.room.avatar", ""),
            ("m.room.join_rules", ""),
            ("m.room.history_visibility", ""),
            ("m.room.guest_access", ""),
            ("m.room.create", ""),
        ]
        state = await self._storage.events.get_current_state(room_id, keys)

        def content(event_type: str) -> dict[str, Any]:
            stored = state.get((event_type, ""))
            return dict(stored.event["content"]) if stored else {}

        entry: dict[str, Any] = {
            "room_id": room_id,
            "num_joined_members": joined,
            "world_readable": content("m.room.history_visibility").get("history_visibility")
            == "world_readable",
            "guest_can_join": content("m.room.guest_access").get("guest_access") == "can_join",
            "join_rule": content("m.room.join_rules").get("join_rule", "invite"),
        }
        for event_type, key, out in (
            ("m.room.name", "name", "name"),
            ("m.room.topic", "topic", "topic"),
            ("m.room.canonical_alias", "alias", "canonical_alias"),
            ("m.room.avatar", "url", "avatar_url"),
        ):
            value = content(event_type).get(key)
            if isinstance(value, str) and value:
                entry[out] = value
        room_type = content("m.room.create").get("type")
        if isinstance(room_type, str):
            entry["room_type"] = room_type
        return entry
