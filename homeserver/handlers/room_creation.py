"""POST /createRoom: the room's initial events, in the order the spec gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeserver.errors import MatrixError, bad_json
from homeserver.events import (
    DEFAULT_ROOM_VERSION,
    SUPPORTED_ROOM_VERSIONS,
    RoomVersion,
    UnsupportedRoomVersionError,
    get_room_version,
)
from homeserver.events.identifiers import is_valid_user_id
from homeserver.handlers.event_sender import EventSender
from homeserver.handlers.identifiers import parse_alias, parse_user_id
from homeserver.handlers.membership import Membership
from homeserver.storage import Storage
from homeserver.util import random_string

ROOM_VERSION = DEFAULT_ROOM_VERSION.identifier
"""The version of rooms created without asking for one."""
ROOM_VERSION_STABILITY = {identifier: "stable" for identifier in SUPPORTED_ROOM_VERSIONS}

_PRESETS: dict[str, dict[str, str]] = {
    "private_chat": {"join_rule": "invite", "history_visibility": "shared", "guest": "can_join"},
    "trusted_private_chat": {
        "join_rule": "invite",
        "history_visibility": "shared",
        "guest": "can_join",
    },
    "public_chat": {"join_rule": "public", "history_visibility": "shared", "guest": "forbidden"},
}


@dataclass(frozen=True)
class CreateRoomRequest:
    preset: str
    is_public: bool
    name: str | None
    topic: str | None
    alias_localpart: str | None
    invite: list[str]
    is_direct: bool
    initial_state: list[dict[str, Any]]
    power_override: dict[str, Any] | None
    creation_content: dict[str, Any]
    room_version: RoomVersion = DEFAULT_ROOM_VERSION

    @classmethod
    def parse(cls, body: dict[str, Any]) -> CreateRoomRequest:
        visibility = body.get("visibility", "private")
        if visibility not in ("public", "private"):
            raise MatrixError(400, "M_INVALID_PARAM", "visibility must be public or private")
        preset = body.get("preset") or ("public_chat" if visibility == "public" else "private_chat")
        if not isinstance(preset, str) or preset not in _PRESETS:
            raise MatrixError(400, "M_INVALID_PARAM", f"Unknown preset {preset!r}")
        try:
            room_version = get_room_version(body.get("room_version", ROOM_VERSION))
        except UnsupportedRoomVersionError:
            raise MatrixError(
                400,
                "M_UNSUPPORTED_ROOM_VERSION",
                f"Room version {body.get('room_version')!r} is not supported",
            ) from None
        name, topic = body.get("name"), body.get("topic")
        for field, value in (("name", name), ("topic", topic)):
            if value is not None and not isinstance(value, str):
                raise bad_json(f"{field} must be a string")
        alias = body.get("room_alias_name")
        if alias is not None and (
            not isinstance(alias, str) or not alias or any(c in alias for c in ": \t\n#")
        ):
            raise MatrixError(400, "M_INVALID_PARAM", "room_alias_name must be a plain localpart")
        invite = body.get("invite", [])
        if not isinstance(invite, list) or not all(isinstance(u, str) for u in invite):
            raise bad_json("invite must be a list of user ids")
        for user_id in invite:
            parse_user_id(user_id)
        initial_state = body.get("initial_state", [])
        if not isinstance(initial_state, list) or not all(
            isinstance(e, dict)
            and isinstance(e.get("type"), str)
            and isinstance(e.get("content"), dict)
            and isinstance(e.get("state_key", ""), str)
            for e in initial_state
        ):
            raise bad_json("initial_state must be a list of {type, state_key, content}")
        override = body.get("power_level_content_override")
        if override is not None and not isinstance(override, dict):
            raise bad_json("power_level_content_override must be an object")
        creation_content = body.get("creation_content", {})
        if not isinstance(creation_content, dict):
            raise bad_json("creation_content must be an object")
        if room_version.creators_have_infinite_power:
            _check_additional_creators(creation_content)
        return cls(
            preset=preset,
            is_public=visibility == "public",
            name=name,
            topic=topic,
            alias_localpart=alias,
            invite=list(dict.fromkeys(invite)),
            is_direct=bool(body.get("is_direct", False)),
            initial_state=initial_state,
            power_override=override,
            creation_content=creation_content,
            room_version=room_version,
        )

    def creators(self, creator: str) -> set[str]:
        """Who has a creator's power in the new room (room version 12: the creator,
        any `additional_creators`, and a trusted private chat's invitees)."""
        if not self.room_version.creators_have_infinite_power:
            return {creator}
        return {
            creator,
            *self.creation_content.get("additional_creators", []),
            *self._co_creators(),
        }

    def _co_creators(self) -> list[str]:
        return self.invite if self.preset == "trusted_private_chat" else []


def _check_creators_not_in_power_override(request: CreateRoomRequest, creators: set[str]) -> None:
    users = (request.power_override or {}).get("users")
    if not request.room_version.creators_have_infinite_power or not isinstance(users, dict):
        return
    if listed := creators.intersection(users):
        raise MatrixError(
            400, "M_INVALID_PARAM", f"Room creators cannot be given a power level: {sorted(listed)}"
        )


def _check_additional_creators(creation_content: dict[str, Any]) -> None:
    extra = creation_content.get("additional_creators", [])
    if not isinstance(extra, list) or not all(is_valid_user_id(user) for user in extra):
        raise bad_json("creation_content.additional_creators must be a list of user ids")


class RoomCreation:
    def __init__(
        self, storage: Storage, sender: EventSender, membership: Membership, server_name: str
    ) -> None:
        self._storage = storage
        self._sender = sender
        self._membership = membership
        self._server_name = server_name

    async def create(self, creator: str, request: CreateRoomRequest) -> tuple[str, str | None]:
        """Returns the room id and its canonical alias (if one was asked for)."""
        alias = (
            f"#{request.alias_localpart}:{self._server_name}" if request.alias_localpart else None
        )
        if alias is not None:
            parse_alias(alias)  # the grammar, and at most 255 characters
        if alias is not None and await self._storage.account_data.get_alias(alias) is not None:
            raise MatrixError(400, "M_ROOM_IN_USE", f"The alias {alias} is taken")
        for user_id in request.invite:
            if user_id == creator:
                raise MatrixError(400, "M_INVALID_PARAM", "You cannot invite yourself")
            if await self._storage.users.get_user(user_id) is None:
                raise MatrixError(400, "M_INVALID_PARAM", f"Unknown user {user_id}")

        version = request.room_version
        creators = request.creators(creator)
        _check_creators_not_in_power_override(request, creators)
        preset = _PRESETS[request.preset]
        send = self._sender.send

        create_content = {**request.creation_content, "room_version": version.identifier}
        create_content.pop("creator", None)
        if extra := sorted(creators - {creator}):
            create_content["additional_creators"] = extra
        room_id = await self._sender.create_room(
            creator,
            create_content,
            version,
            # From room version 12 the room id is derived from the create event.
            room_id=None
            if version.room_id_is_create_event_hash
            else f"!{random_string(18)}:{self._server_name}",
            is_public=request.is_public,
        )
        await self._membership.join(room_id, creator)

        await send(
            room_id,
            creator,
            "m.room.power_levels",
            self._power_levels(creator, request),
            state_key="",
        )
        if alias is not None:
            if not await self._storage.account_data.create_alias(alias, room_id, creator):
                raise MatrixError(400, "M_ROOM_IN_USE", f"The alias {alias} is taken")
            await send(room_id, creator, "m.room.canonical_alias", {"alias": alias}, state_key="")

        given = {(e["type"], e.get("state_key", "")) for e in request.initial_state}
        defaults = [
            ("m.room.join_rules", {"join_rule": preset["join_rule"]}),
            ("m.room.history_visibility", {"history_visibility": preset["history_visibility"]}),
            ("m.room.guest_access", {"guest_access": preset["guest"]}),
        ]
        for event_type, content in defaults:
            if (event_type, "") not in given:
                await send(room_id, creator, event_type, content, state_key="")
        for event in request.initial_state:
            if event["type"] in ("m.room.create", "m.room.member", "m.room.power_levels"):
                raise MatrixError(
                    400, "M_INVALID_PARAM", f"{event['type']} cannot be in initial_state"
                )
            await send(
                room_id,
                creator,
                event["type"],
                event["content"],
                state_key=event.get("state_key", ""),
            )
        if request.name is not None:
            await send(room_id, creator, "m.room.name", {"name": request.name}, state_key="")
        if request.topic is not None:
            await send(room_id, creator, "m.room.topic", {"topic": request.topic}, state_key="")
        for user_id in request.invite:
            await self._membership.invite(room_id, creator, user_id, is_direct=request.is_direct)
        return room_id, alias

    @staticmethod
    def _power_levels(creator: str, request: CreateRoomRequest) -> dict[str, Any]:
        # Room version 12 creators have infinite power, outside the power levels.
        infinite = request.room_version.creators_have_infinite_power
        users = {} if infinite else {creator: 100}
        if request.preset == "trusted_private_chat" and not infinite:
            users.update({user_id: 100 for user_id in request.invite})
        content: dict[str, Any] = {
            "users": users,
            "users_default": 0,
            "events": {
                "m.room.name": 50,
                "m.room.power_levels": 100,
                "m.room.history_visibility": 100,
                "m.room.canonical_alias": 50,
                "m.room.avatar": 50,
                # Above every other level: only creators can upgrade a v12 room.
                "m.room.tombstone": 150 if infinite else 100,
                "m.room.server_acl": 100,
                "m.room.encryption": 100,
            },
            "events_default": 0,
            "state_default": 50,
            "ban": 50,
            "kick": 50,
            "redact": 50,
            "invite": 50 if request.preset == "public_chat" else 0,
            "notifications": {"room": 50},
        }
        if request.power_override:
            content.update(request.power_override)
        return content
