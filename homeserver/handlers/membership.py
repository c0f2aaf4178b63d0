"""Joining, inviting, leaving, kicking, banning: membership events for local users."""

from __future__ import annotations

from typing import Any, Protocol

from homeserver.errors import MatrixError, forbidden, not_found
from homeserver.handlers.event_sender import EventSender, SentEvent
from homeserver.handlers.identifiers import is_room_id, parse_alias, parse_user_id
from homeserver.handlers.user_rooms import UserRooms
from homeserver.storage import Storage


class RemoteRooms(Protocol):
    """Joining rooms this server is not in, through other servers (set by
    federation when it is on)."""

    async def join(
        self, room_id_or_alias: str, user_id: str, servers: list[str], reason: str | None
    ) -> str: ...

    async def leave(
        self, room_id: str, user_id: str, servers: list[str], reason: str | None
    ) -> dict[str, Any]: ...

    async def send_invite(self, event: dict[str, Any]) -> None: ...


class Membership:
    def __init__(
        self, storage: Storage, sender: EventSender, server_name: str, user_rooms: UserRooms
    ) -> None:
        self._storage = storage
        self._user_rooms = user_rooms
        self._sender = sender
        self._server_name = server_name
        self.remote: RemoteRooms | None = None

    async def join_room(
        self, room_id_or_alias: str, user_id: str, reason: str | None, servers: list[str]
    ) -> str:
        """Joins a room by id or alias; one this server does not hold goes
        through another server when federation is on."""
        if self.remote is not None and await self._is_remote(room_id_or_alias):
            servers = [*servers, *await self._inviting_server(room_id_or_alias, user_id)]
            return await self.remote.join(room_id_or_alias, user_id, servers, reason)
        room_id = await self.resolve_room(room_id_or_alias)
        await self.join(room_id, user_id, reason)
        return room_id

    async def _inviting_server(self, room_id: str, user_id: str) -> list[str]:
        """The server of whoever invited the user to the room, if invited."""
        if room_id.startswith("#"):
            return []
        current = await self._storage.events.get_membership(room_id, user_id)
        if current is None or current.membership != "invite":
            return []
        invite = await self._storage.events.get_event(current.event_id)
        return [str(invite.event["sender"]).partition(":")[2]] if invite else []

    async def _is_remote(self, room_id_or_alias: str) -> bool:
        """Whether joining needs another server: the room is unknown, or we
        hold no state of it (only an invite), or only other servers' users
        are in it."""
        if room_id_or_alias.startswith("#"):
            _, domain = parse_alias(room_id_or_alias)
            return domain != self._server_name
        if not is_room_id(room_id_or_alias):
            return False
        state = await self._storage.events.get_current_state_ids(room_id_or_alias)
        if ("m.room.create", "") not in state:
            return True
        members = await self._storage.events.get_joined_member_contents(room_id_or_alias)
        servers = {user_id.partition(":")[2] for user_id in members}
        return bool(servers) and self._server_name not in servers

    async def resolve_room(self, room_id_or_alias: str) -> str:
        if room_id_or_alias.startswith("#"):
            parse_alias(room_id_or_alias)
            found = await self._storage.account_data.get_alias(room_id_or_alias)
            if found is None:
                raise not_found(f"Room alias {room_id_or_alias} not found")
            return found[0]
        if not is_room_id(room_id_or_alias):
            raise MatrixError(400, "M_INVALID_PARAM", "Expected a room id or a room alias")
        if not await self._storage.events.room_exists(room_id_or_alias):
            raise not_found("Unknown room")
        return room_id_or_alias

    async def _profile_content(self, user_id: str) -> dict[str, Any]:
        user = await self._storage.users.get_user(user_id)
        content: dict[str, Any] = {}
        if user is not None:
            if user.displayname:
                content["displayname"] = user.displayname
            if user.avatar_url:
                content["avatar_url"] = user.avatar_url
        return content

    async def join(self, room_id: str, user_id: str, reason: str | None = None) -> SentEvent:
        content = {**await self._profile_content(user_id), "membership": "join"}
        if reason:
            content["reason"] = reason
        return await self._sender.send(
            room_id, user_id, "m.room.member", content, state_key=user_id
        )

    async def invite(
        self,
        room_id: str,
        sender: str,
        target: str,
        *,
        reason: str | None = None,
        is_direct: bool = False,
    ) -> SentEvent:
        _, domain = parse_user_id(target)
        remote = self.remote
        if domain != self._server_name and remote is None:
            raise forbidden("Inviting users of other servers needs federation, which is off")
        if domain == self._server_name and await self._storage.users.get_user(target) is None:
            raise MatrixError(400, "M_INVALID_PARAM", f"Unknown user {target}")
        current = await self._storage.events.get_membership(room_id, target)
        if current is not None and current.membership in ("join", "ban"):
            state = "already in" if current.membership == "join" else "banned from"
            raise forbidden(f"{target} is {state} the room")
        content: dict[str, Any] = {**await self._profile_content(target), "membership": "invite"}
        if reason:
            content["reason"] = reason
        if is_direct:
            content["is_direct"] = True
        vet = remote.send_invite if remote is not None and domain != self._server_name else None
        return await self._sender.send(
            room_id, sender, "m.room.member", content, state_key=target, vet=vet
        )

    async def leave(self, room_id: str, user_id: str, reason: str | None = None) -> SentEvent:
        current = await self._storage.events.get_membership(room_id, user_id)
        if current is None or current.membership in ("leave", "ban"):
            raise forbidden("You are not in this room")
        if self.remote is not None and await self._is_remote(room_id):
            # Rejecting an invite to (or leaving) a room only other servers hold.
            servers = await self._inviting_server(room_id, user_id)
            left = await self.remote.leave(room_id, user_id, servers, reason)
            return SentEvent(left["event_id"], None)
        return await self._set(room_id, user_id, user_id, "leave", reason)

    async def kick(self, room_id: str, sender: str, target: str, reason: str | None) -> SentEvent:
        parse_user_id(target)
        current = await self._storage.events.get_membership(room_id, target)
        if current is None or current.membership not in ("join", "invite", "knock"):
            raise forbidden(f"{target} is not in the room")
        return await self._set(room_id, sender, target, "leave", reason)

    async def ban(self, room_id: str, sender: str, target: str, reason: str | None) -> SentEvent:
        parse_user_id(target)
        return await self._set(room_id, sender, target, "ban", reason)

    async def unban(self, room_id: str, sender: str, target: str, reason: str | None) -> SentEvent:
        parse_user_id(target)
        current = await self._storage.events.get_membership(room_id, target)
        if current is None or current.membership != "ban":
            raise forbidden(f"{target} is not banned")
        return await self._set(room_id, sender, target, "leave", reason)

    async def forget(self, room_id: str, user_id: str) -> None:
        current = await self._storage.events.get_membership(room_id, user_id)
        if current is None:
            raise not_found("You have never been in this room")
        if current.membership in ("join", "invite"):
            raise MatrixError(400, "M_UNKNOWN", "Leave the room before forgetting it")
        await self._user_rooms.forget_room(room_id, user_id)

    async def _set(
        self, room_id: str, sender: str, target: str, membership: str, reason: str | None
    ) -> SentEvent:
        content: dict[str, Any] = {"membership": membership}
        if reason:
            content["reason"] = reason
        return await self._sender.send(room_id, sender, "m.room.member", content, state_key=target)
