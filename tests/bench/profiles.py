"""How much each workload does: `full` (make bench, under 10 minutes on a
2-core machine) and `quick` (make bench-quick, under 2 minutes). Where a count
is below the issue's, `shortfalls` says so, and the run prints it.

The issue's counts do not all fit in 10 minutes at the servers' present speed
(at about 50 messages/s, a 10,000-event room alone takes over 3 minutes to
fill per server). `ISSUE_COUNTS` holds them; `--set key=value` (or
`BENCH_ARGS="--set ..."` with make) runs any of them, one workload at a time:
for example `--only idle --set idle_connections=10000`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

ISSUE_COUNTS: dict[str, int] = {
    "latency_messages": 500,
    "senders": 10,
    "fanout_members": 200,
    "fanout_messages": 50,
    "history_events": 10_000,
    "sync_rooms": 50,
    "sync_room_events": 100,
    "idle_connections": 10_000,
    "idle_longpoll_connections": 10_000,
}


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
    # 6. idle connections per process: WebSocket streams, long-poll /syncs.
    #    Opening stops at the budget; only servers on these databases are tried.
    idle_connections: int
    idle_longpoll_connections: int
    # handshakes in flight per client process while opening
    idle_open_concurrency: int
    idle_open_budget_seconds: float
    idle_hold_seconds: float
    idle_databases: tuple[str, ...]
    # The idle connections belong to these many users of one quiet room, so
    # that no other workload's aftermath (presence expiring) wakes them.
    idle_users: int
    # presence: listeners in a shared room, users toggling, changes, pace.
    presence_listeners: int
    presence_togglers: int
    presence_changes: int
    presence_interval: float
    # client processes
    client_processes: int
    # media: the size of the file uploaded and downloaded (MB, 10^6 bytes), the
    # larger one whose transfer must not take more memory, rounds, thumbnails.
    media_file_mb: int = 10
    media_large_mb: int = 40
    media_rounds: int = 2
    thumbnail_requests: int = 50

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def shortfalls(self) -> list[str]:
        """The places where this profile does less than the issue asks."""
        values = self.to_json()
        return [
            f"{key}: {values[key]} (the issue asks for {wanted})"
            for key, wanted in ISSUE_COUNTS.items()
            if values[key] < wanted
        ]


FULL = Profile(
    name="full",
    latency_messages=500,
    latency_rounds=4,
    latency_variants=("longpoll", "websocket"),
    senders=10,
    throughput_seconds=3.0,
    throughput_rounds=2,
    fanout_members=200,
    fanout_messages=20,
    fanout_rounds=2,
    history_events=10_000,
    history_page=50,
    history_pages_timed=5,
    sync_rooms=50,
    sync_room_events=10,
    sync_repeats=5,
    idle_connections=10_000,
    idle_longpoll_connections=2_000,
    idle_open_concurrency=32,
    idle_open_budget_seconds=100.0,
    idle_hold_seconds=20.0,
    idle_databases=("postgresql",),
    idle_users=50,
    presence_listeners=50,
    presence_togglers=10,
    presence_changes=40,
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
    idle_longpoll_connections=300,
    idle_open_concurrency=16,
    idle_open_budget_seconds=15.0,
    idle_hold_seconds=2.0,
    idle_databases=("postgresql",),
    idle_users=10,
    presence_listeners=10,
    presence_togglers=3,
    presence_changes=10,
    presence_interval=0.05,
    client_processes=2,
    media_rounds=1,
    thumbnail_requests=15,
)

# The issue's counts everywhere, with time budgets to match: not for `make
# bench` (it took 744 s with the three default servers), but runnable as
# `make bench BENCH_ARGS="--profile issue --servers ours-postgresql,synapse-postgresql"`.
ISSUE = replace(
    FULL,
    name="issue",
    latency_messages=500,
    latency_rounds=5,
    fanout_members=200,
    fanout_messages=50,
    fanout_rounds=5,
    history_events=10_000,
    history_pages_timed=10,
    sync_room_events=100,
    idle_connections=10_000,
    idle_longpoll_connections=10_000,
    idle_open_budget_seconds=900.0,
    idle_hold_seconds=10.0,
    idle_users=100,
)

PROFILES = {"full": FULL, "quick": QUICK, "issue": ISSUE}


def with_overrides(profile: Profile, overrides: dict[str, Any]) -> Profile:
    return replace(profile, **overrides)
