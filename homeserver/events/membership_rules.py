"""Authorisation of ``m.room.member`` events (room version 11, rule 4)."""

from collections.abc import Mapping
from typing import Any

from homeserver.events.errors import AuthError
from homeserver.events.hashing import compute_reference_hash_event_id
from homeserver.events.identifiers import is_valid_user_id, server_name_of
from homeserver.events.power_levels import (
    NAMED_LEVEL_DEFAULTS,
    get_named_level,
    get_user_power_level,
)
from homeserver.events.state import StateMap, content_of, create_event, join_rule, membership_of
from homeserver.events.third_party_invite import check_third_party_invite

__all__ = ["check_membership"]

_AUTHORISING_USER = "join_authorised_via_users_server"


def check_membership(event: Mapping[str, Any], auth_state: StateMap) -> None:
    """Raise AuthError unless the membership event is allowed by ``auth_state``."""
    target = event.get("state_key")
    content = content_of(event)
    membership = content.get("membership")
    if not isinstance(target, str):
        raise AuthError("m.room.member event has no state_key")
    if not isinstance(membership, str):
        raise AuthError("m.room.member event has no content.membership")
    _check_authorising_server_signed(event, content)
    checker = _CHECKERS.get(membership)
    if checker is None:
        raise AuthError(f"unknown membership {membership!r}")
    checker(event, target, auth_state)


def _check_authorising_server_signed(event: Mapping[str, Any], content: Mapping[str, Any]) -> None:
    """Rule 4.2: the authorising user's server must have signed the event.

    This pure check only looks for the signature; verifying it cryptographically is part of
    the signature checks done when a PDU is received. Sign local events before auth.
    """
    if _AUTHORISING_USER not in content:
        return
    authoriser = content[_AUTHORISING_USER]
    if not is_valid_user_id(authoriser):
        raise AuthError(f"{_AUTHORISING_USER} is not a valid user ID")
    server = server_name_of(authoriser)
    signatures = event.get("signatures")
    if not isinstance(signatures, Mapping) or not signatures.get(server):
        raise AuthError(f"join is not signed by the authorising server {server}")


def _sender(event: Mapping[str, Any]) -> str:
    return str(event["sender"])


def _is_creator_first_join(event: Mapping[str, Any], target: str, auth_state: StateMap) -> bool:
    create = create_event(auth_state)
    prev_events = event.get("prev_events")
    if create is None or not isinstance(prev_events, list) or len(prev_events) != 1:
        return False
    create_id = create.get("event_id") or compute_reference_hash_event_id(create)
    return prev_events[0] == create_id and create.get("sender") == target


def _check_join(event: Mapping[str, Any], target: str, auth_state: StateMap) -> None:
    if _is_creator_first_join(event, target, auth_state):
        return
    sender = _sender(event)
    if sender != target:
        raise AuthError("cannot make another user join")
    current = membership_of(target, auth_state)
    if current == "ban":
        raise AuthError(f"{target} is banned from the room")
    rule = join_rule(auth_state)
    if rule in ("invite", "knock"):
        if current in ("invite", "join"):
            return
        raise AuthError(f"join rule is {rule!r} and {target} is not invited")
    if rule in ("restricted", "knock_restricted"):
        if current in ("invite", "join"):
            return
        _check_restricted_join_authoriser(event, auth_state)
        return
    if rule == "public":
        return
    raise AuthError(f"join rule {rule!r} does not allow joining")


def _check_restricted_join_authoriser(event: Mapping[str, Any], auth_state: StateMap) -> None:
    authoriser = content_of(event).get(_AUTHORISING_USER)
    if not isinstance(authoriser, str):
        raise AuthError(f"restricted join needs {_AUTHORISING_USER}")
    if membership_of(authoriser, auth_state) != "join":
        raise AuthError(f"authorising user {authoriser} is not joined to the room")
    invite_level = get_named_level("invite", auth_state, NAMED_LEVEL_DEFAULTS["invite"])
    if get_user_power_level(authoriser, auth_state) < invite_level:
        raise AuthError(f"authorising user {authoriser} cannot invite users")


def _check_invite(event: Mapping[str, Any], target: str, auth_state: StateMap) -> None:
    if "third_party_invite" in content_of(event):
        check_third_party_invite(event, auth_state)
        return
    sender = _sender(event)
    _require_sender_joined(sender, auth_state)
    current = membership_of(target, auth_state)
    if current in ("join", "ban"):
        raise AuthError(f"cannot invite {target}: membership is {current!r}")
    invite_level = get_named_level("invite", auth_state, NAMED_LEVEL_DEFAULTS["invite"])
    if get_user_power_level(sender, auth_state) < invite_level:
        raise AuthError(f"{sender} does not have power to invite (needs {invite_level})")


def _check_leave(event: Mapping[str, Any], target: str, auth_state: StateMap) -> None:
    sender = _sender(event)
    if sender == target:
        current = membership_of(target, auth_state)
        if current in ("invite", "join", "knock"):
            return
        raise AuthError(f"cannot leave a room with membership {current!r}")
    _require_sender_joined(sender, auth_state)
    sender_level = get_user_power_level(sender, auth_state)
    ban_level = get_named_level("ban", auth_state, NAMED_LEVEL_DEFAULTS["ban"])
    if membership_of(target, auth_state) == "ban" and sender_level < ban_level:
        raise AuthError(f"{sender} does not have power to unban (needs {ban_level})")
    kick_level = get_named_level("kick", auth_state, NAMED_LEVEL_DEFAULTS["kick"])
    if sender_level < kick_level:
        raise AuthError(f"{sender} does not have power to kick (needs {kick_level})")
    if get_user_power_level(target, auth_state) >= sender_level:
        raise AuthError(f"{sender} cannot kick {target}: target's power level is not lower")


def _check_ban(event: Mapping[str, Any], target: str, auth_state: StateMap) -> None:
    sender = _sender(event)
    _require_sender_joined(sender, auth_state)
    sender_level = get_user_power_level(sender, auth_state)
    ban_level = get_named_level("ban", auth_state, NAMED_LEVEL_DEFAULTS["ban"])
    if sender_level < ban_level:
        raise AuthError(f"{sender} does not have power to ban (needs {ban_level})")
    if get_user_power_level(target, auth_state) >= sender_level:
        raise AuthError(f"{sender} cannot ban {target}: target's power level is not lower")


def _check_knock(event: Mapping[str, Any], target: str, auth_state: StateMap) -> None:
    rule = join_rule(auth_state)
    if rule not in ("knock", "knock_restricted"):
        raise AuthError(f"join rule {rule!r} does not allow knocking")
    if _sender(event) != target:
        raise AuthError("cannot knock on behalf of another user")
    current = membership_of(target, auth_state)
    if current in ("ban", "invite", "join"):
        raise AuthError(f"cannot knock with membership {current!r}")


def _require_sender_joined(sender: str, auth_state: StateMap) -> None:
    if membership_of(sender, auth_state) != "join":
        raise AuthError(f"{sender} is not joined to the room")


_CHECKERS = {
    "join": _check_join,
    "invite": _check_invite,
    "leave": _check_leave,
    "ban": _check_ban,
    "knock": _check_knock,
}
