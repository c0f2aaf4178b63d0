"""Helpers for building small room-version-11 rooms in tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from homeserver.events import AuthError, check_auth, compute_reference_hash_event_id

ROOM_ID = "!room:example.org"
ALICE = "@alice:example.org"  # creator, power level 100
MOD = "@mod:example.org"  # power level 50
MOD2 = "@mod2:example.org"  # power level 50
BOB = "@bob:example.org"  # plain member, power level 0
CAROL = "@carol:example.org"  # not in the room
REMOTE = "@eve:remote.test"  # a plain member on another server

DEFAULT_LEVELS: dict[str, Any] = {
    "ban": 50,
    "kick": 50,
    "redact": 50,
    "invite": 0,
    "events_default": 0,
    "state_default": 50,
    "users_default": 0,
    "events": {"m.room.power_levels": 100, "m.room.history_visibility": 100},
}

_timestamps = itertools.count(1_700_000_000_000)


def make_event(
    event_type: str,
    sender: str,
    content: Mapping[str, Any] | None = None,
    *,
    state_key: str | None = None,
    room_id: str = ROOM_ID,
    prev_events: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A PDU-shaped event dict (no hashes or signatures unless given in ``extra``)."""
    event: dict[str, Any] = {
        "type": event_type,
        "sender": sender,
        "room_id": room_id,
        "content": dict(content or {}),
        "origin_server_ts": next(_timestamps),
        "depth": 10,
        "prev_events": prev_events if prev_events is not None else ["$prev"],
        "auth_events": [],
        "hashes": {"sha256": "AAAA"},
        "signatures": {},
    }
    if state_key is not None:
        event["state_key"] = state_key
    event.update(extra)
    return event


def create_event(creator: str = ALICE, *, room_id: str = ROOM_ID, **content: Any) -> dict[str, Any]:
    return make_event(
        "m.room.create",
        creator,
        {"room_version": "11", **content},
        state_key="",
        room_id=room_id,
        prev_events=[],
    )


def member_event(sender: str, target: str, membership: str, **content: Any) -> dict[str, Any]:
    return make_event(
        "m.room.member", sender, {"membership": membership, **content}, state_key=target
    )


class Room:
    """Room state plus shortcuts to build and authorise events against it."""

    def __init__(self, state: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.state = state

    def set(self, event: dict[str, Any]) -> Room:
        self.state[(event["type"], event.get("state_key", ""))] = event
        return self

    def set_member(self, user_id: str, membership: str, **content: Any) -> Room:
        return self.set(member_event(user_id, user_id, membership, **content))

    def set_join_rule(self, rule: str, **content: Any) -> Room:
        return self.set(
            make_event("m.room.join_rules", ALICE, {"join_rule": rule, **content}, state_key="")
        )

    def set_power_levels(self, **changes: Any) -> Room:
        content = {**self.power_levels(), **changes}
        return self.set(make_event("m.room.power_levels", ALICE, content, state_key=""))

    def power_levels(self) -> dict[str, Any]:
        event = self.state.get(("m.room.power_levels", ""))
        return dict(event["content"]) if event else {}

    def without(self, event_type: str, state_key: str = "") -> Room:
        del self.state[(event_type, state_key)]
        return self

    def allowed(self, event: Mapping[str, Any]) -> bool:
        try:
            check_auth(event, self.state)
        except AuthError:
            return False
        return True


def empty_room(creator: str = ALICE) -> Room:
    """A room containing only its create event."""
    create = create_event(creator)
    return Room({("m.room.create", ""): create})


def standard_room(join_rule: str = "invite") -> Room:
    """Alice (100), a moderator pair (50) and Bob (0) joined; Carol is a stranger."""
    room = empty_room()
    room.set_member(ALICE, "join")
    room.set_power_levels(**DEFAULT_LEVELS, users={ALICE: 100, MOD: 50, MOD2: 50})
    room.set_join_rule(join_rule)
    for user in (MOD, MOD2, BOB, REMOTE):
        room.set_member(user, "join")
    return room


def create_event_id(room: Room) -> str:
    return compute_reference_hash_event_id(room.state[("m.room.create", "")])
