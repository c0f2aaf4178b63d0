"""Auth events selection (server-server spec, "Auth events selection")."""

from collections.abc import Mapping
from typing import Any

from homeserver.events.room_versions import ROOM_V11, RoomVersion

__all__ = ["auth_types_for_event"]


def auth_types_for_event(
    event: Mapping[str, Any], room_version: RoomVersion = ROOM_V11
) -> list[tuple[str, str]]:
    """The ``(type, state_key)`` pairs whose current state events authorise ``event``.

    Empty for ``m.room.create``. Otherwise: the create event (not from room version 12,
    where the room ID implies it), the power levels, the sender's membership and, for
    membership events, the target's membership, the join rules (for join, invite and
    knock), the third-party invite named by the invite's token, and the authorising
    user's membership for restricted joins.
    """
    if event.get("type") == "m.room.create":
        return []
    selected: list[tuple[str, str]] = []
    if not room_version.room_id_is_create_event_hash:
        selected.append(("m.room.create", ""))
    selected.append(("m.room.power_levels", ""))
    sender = event.get("sender")
    if isinstance(sender, str):
        selected.append(("m.room.member", sender))
    if event.get("type") == "m.room.member":
        selected.extend(_membership_auth_types(event))
    return list(dict.fromkeys(selected))


def _membership_auth_types(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    selected: list[tuple[str, str]] = []
    target = event.get("state_key")
    if isinstance(target, str):
        selected.append(("m.room.member", target))
    content = event.get("content")
    if not isinstance(content, Mapping):
        return selected
    membership = content.get("membership")
    if membership in ("join", "invite", "knock"):
        selected.append(("m.room.join_rules", ""))
    if membership == "invite":
        token = _third_party_invite_token(content)
        if token is not None:
            selected.append(("m.room.third_party_invite", token))
    if membership == "join":
        authoriser = content.get("join_authorised_via_users_server")
        if isinstance(authoriser, str):
            selected.append(("m.room.member", authoriser))
    return selected


def _third_party_invite_token(content: Mapping[str, Any]) -> str | None:
    invite = content.get("third_party_invite")
    signed = invite.get("signed") if isinstance(invite, Mapping) else None
    token = signed.get("token") if isinstance(signed, Mapping) else None
    return token if isinstance(token, str) else None
