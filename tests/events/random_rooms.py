"""Random rooms with forks, and state-resolution questions about them, for comparing our
state resolution with another implementation's.

Each room starts as a public room of five users, then grows by random topic, power
levels, join rules and membership events on one to three recent parents, many of them
not allowed; the state before each event is our resolution of its parents' states.
"""

from __future__ import annotations

import random
from typing import Any

from homeserver.events import (
    auth_types_for_event,
    compute_content_hash,
    compute_reference_hash_event_id,
)
from homeserver.events.room_ids import room_id_for_create_event
from homeserver.events.room_versions import RoomVersion
from homeserver.events.state_res import resolve_state

USERS = [f"@{name}:example.com" for name in ("alice", "bob", "charlie", "dave", "eve")]
ALICE = USERS[0]
StateIds = dict[tuple[str, str], str]


class _RoomBuilder:
    def __init__(self, rng: random.Random, version: RoomVersion) -> None:
        self.rng = rng
        self.version = version
        self.room_id = "!room:example.com"
        self.events: dict[str, dict[str, Any]] = {}
        self.state_after: dict[str, StateIds] = {}
        self.order: list[str] = []
        self.clock = 0

    def add(
        self,
        event_type: str,
        sender: str,
        content: dict[str, Any],
        state_key: str,
        parents: list[str],
    ) -> str:
        self.clock += self.rng.choice([0, 1, 1, 1, 2])  # equal timestamps happen
        before = self._state_before(parents)
        event: dict[str, Any] = {
            "type": event_type,
            "sender": sender,
            "content": content,
            "state_key": state_key,
            "origin_server_ts": self.clock,
            "prev_events": parents,
            "depth": 1 + max((self.events[p]["depth"] for p in parents), default=0),
        }
        if event_type != "m.room.create" or not self.version.room_id_is_create_event_hash:
            event["room_id"] = self.room_id
        keys = auth_types_for_event(event, self.version)
        event["auth_events"] = [before[key] for key in keys if key in before]
        event["hashes"] = {"sha256": compute_content_hash(event)}
        event["signatures"] = {}
        event_id = compute_reference_hash_event_id(event)
        self.events[event_id] = {**event, "event_id": event_id}
        self.state_after[event_id] = {**before, (event_type, state_key): event_id}
        self.order.append(event_id)
        return event_id

    def _state_before(self, parents: list[str]) -> StateIds:
        states = [self.state_after[parent] for parent in parents]
        if len(states) <= 1:
            return dict(states[0]) if states else {}
        return resolve_state(self.version, states, self.events)

    def random_event(self) -> None:
        rng = self.rng
        recent = self.order[-8:]
        parents = sorted(rng.sample(recent, k=min(len(recent), rng.choice([1, 1, 2, 2, 3]))))
        sender = rng.choice(USERS)
        kind = rng.random()
        if kind < 0.25:
            self.add("m.room.topic", sender, {"topic": str(rng.random())}, "", parents)
        elif kind < 0.5:
            self.add("m.room.power_levels", sender, self._random_levels(), "", parents)
        elif kind < 0.6:
            rule = rng.choice(["public", "invite"])
            self.add("m.room.join_rules", sender, {"join_rule": rule}, "", parents)
        else:
            target = rng.choice(USERS) if rng.random() < 0.6 else sender
            membership = rng.choice(["join", "join", "leave", "ban", "invite"])
            self.add("m.room.member", sender, {"membership": membership}, target, parents)

    def _random_levels(self) -> dict[str, Any]:
        rng = self.rng
        users = {
            user: rng.choice([0, 10, 50, 75, 100]) for user in rng.sample(USERS, rng.randint(0, 4))
        }
        if self.version.creators_have_infinite_power:
            users.pop(ALICE, None)
        elif rng.random() < 0.7:
            users[ALICE] = 100
        content: dict[str, Any] = {"users": users}
        if rng.random() < 0.3:
            content["events"] = {"m.room.topic": rng.choice([0, 50, 100])}
        if rng.random() < 0.2:
            content["users_default"] = rng.choice([0, 10])
        return content


def random_room(seed: int, version: RoomVersion, queries: int = 10) -> dict[str, Any]:
    """A room's events and ``queries`` random sets of 2 or 3 states to resolve, with our
    answers, as JSON-ready data."""
    builder = _RoomBuilder(random.Random(seed), version)
    create = builder.add("m.room.create", ALICE, {"room_version": version.identifier}, "", [])
    if version.room_id_is_create_event_hash:
        builder.room_id = room_id_for_create_event(builder.events[create])
    last = builder.add("m.room.member", ALICE, {"membership": "join"}, ALICE, [create])
    first_levels = (
        {USERS[1]: 50} if version.creators_have_infinite_power else {ALICE: 100, USERS[1]: 50}
    )
    last = builder.add("m.room.power_levels", ALICE, {"users": first_levels}, "", [last])
    last = builder.add("m.room.join_rules", ALICE, {"join_rule": "public"}, "", [last])
    for user in USERS[1:]:
        last = builder.add("m.room.member", user, {"membership": "join"}, user, [last])
    for _ in range(builder.rng.randint(10, 40)):
        builder.random_event()
    asked = []
    for _ in range(queries):
        picks = builder.rng.sample(builder.order[4:], k=builder.rng.choice([2, 2, 3]))
        states = [builder.state_after[pick] for pick in picks]
        ours = resolve_state(version, states, builder.events)
        asked.append({"state_sets": [_as_rows(state) for state in states], "ours": _as_rows(ours)})
    return {
        "room_version": version.identifier,
        "room_id": builder.room_id,
        "events": list(builder.events.values()),
        "queries": asked,
    }


def _as_rows(state: StateIds) -> list[list[str]]:
    return sorted(
        [event_type, state_key, event_id] for (event_type, state_key), event_id in state.items()
    )
