"""How much each workload does: `full` (make bench, under 10 minutes on a
2-core machine) and `quick` (make bench-quick, under 2 minutes). Where a count
is below the issue's, `shortfalls` says so, and the run prints it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Profile:
    name: str
    # 1. send -> receive latency: messages per transport, split into rounds
    #    that alternate between the servers.
    latency_messages: int
    latency_rounds: int
    # which of: longpoll, websocket (HTTP send), websocket-send (send over the socket too)
    latency_variants: tuple[str, ...]
    # 2. throughput: concurrent closed-loop senders, seconds per round, rounds.
    senders: int
    throughput_seconds: float
    throughput_rounds: int
    # 3. fan-out: room members with a live sync connection, messages.
    fanout_members: int
    fanout_messages: int
    fanout_rounds: int
    # 4. history: events in the room, page size, pages timed at each end.
    history_events: int
    history_page: int
    history_pages_timed: int
    # 5. initial sync: rooms, events per room, timed repeats.
    sync_rooms: int
    sync_room_events: int
    sync_repeats: int
    # 6. idle connections per process.
    #    Opening stops at the budget; only servers on these databases are tried.
    idle_connections: int
    idle_open_budget_seconds: float
    idle_hold_seconds: float
    idle_databases: tuple[str, ...]
    # presence: listeners in a shared room, users toggling, changes, pace.
    presence_listeners: int
    presence_togglers: int
    presence_changes: int
    presence_interval: float
    # client processes
    client_processes: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def shortfalls(self) -> list[str]:
        """The places where this profile does less than the issue asks."""
        asked = {
            "latency_messages": 500,
            "senders": 10,
            "fanout_members": 200,
            "fanout_messages": 50,
            "history_events": 10_000,
            "sync_rooms": 50,
            "sync_room_events": 100,
            "idle_connections": 10_000,
        }
        values = self.to_json()
        return [
            f"{key}: {values[key]} (the issue asks for {wanted})"
            for key, wanted in asked.items()
            if values[key] < wanted
        ]


FULL = Profile(
    name="full",
    latency_messages=200,
    latency_rounds=4,
    latency_variants=("longpoll", "websocket", "websocket-send"),
    senders=10,
    throughput_seconds=4.0,
    throughput_rounds=2,
    fanout_members=200,
    fanout_messages=6,
    fanout_rounds=2,
    history_events=1_500,
    history_page=50,
    history_pages_timed=10,
    sync_rooms=50,
    sync_room_events=10,
    sync_repeats=5,
    idle_connections=10_000,
    idle_open_budget_seconds=90.0,
    idle_hold_seconds=5.0,
    idle_databases=("postgresql",),
    presence_listeners=50,
    presence_togglers=10,
    presence_changes=60,
    presence_interval=0.05,
    client_processes=3,
)

QUICK = Profile(
    name="quick",
    latency_messages=30,
    latency_rounds=2,
    latency_variants=("longpoll", "websocket"),
    senders=10,
    throughput_seconds=2.0,
    throughput_rounds=1,
    fanout_members=20,
    fanout_messages=4,
    fanout_rounds=2,
    history_events=200,
    history_page=50,
    history_pages_timed=2,
    sync_rooms=5,
    sync_room_events=5,
    sync_repeats=3,
    idle_connections=300,
    idle_open_budget_seconds=15.0,
    idle_hold_seconds=2.0,
    idle_databases=("postgresql",),
    presence_listeners=10,
    presence_togglers=3,
    presence_changes=10,
    presence_interval=0.05,
    client_processes=2,
)

PROFILES = {"full": FULL, "quick": QUICK}


def with_overrides(profile: Profile, overrides: dict[str, Any]) -> Profile:
    return replace(profile, **overrides)
