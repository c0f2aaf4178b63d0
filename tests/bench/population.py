"""Set-up, not measured: the users and rooms every workload needs, built on
each server through the client API (registration, createRoom, join, send)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from tests.bench import matrix
from tests.bench.matrix import User
from tests.bench.profiles import Profile
from tests.bench.servers import ServerUnderTest
from tests.bench.workers import WorkerPool

T = TypeVar("T")
SETUP_CONCURRENCY = 8


@dataclass
class Population:
    alice: User
    bob: User
    carol: User
    members: list[User]
    togglers: list[User]
    idle_users: list[User]
    latency_room: str
    throughput_room: str
    throughput_rooms: list[str]
    fanout_room: str
    presence_room: str
    history_room: str
    sync_rooms: list[str]
    idle_room: str
    setup_seconds: dict[str, float] = field(default_factory=dict)

    def user_args(self, users: Iterable[User]) -> list[dict[str, str]]:
        return [asdict(u) for u in users]

    @property
    def senders(self) -> list[User]:
        return self.members


async def _bounded(items: Iterable[Awaitable[T]], limit: int = SETUP_CONCURRENCY) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(item: Awaitable[T]) -> T:
        async with gate:
            return await item

    return await asyncio.gather(*(one(i) for i in items))


class _Timer:
    def __init__(self, record: dict[str, float], log: Callable[[str], None], server: str):
        self.record = record
        self.log = log
        self.server = server

    async def step(self, name: str, work: Awaitable[T]) -> T:
        started = time.monotonic()
        result = await work
        self.record[name] = round(time.monotonic() - started, 2)
        self.log(f"  {self.server}: set-up {name} {self.record[name]:.1f} s")
        return result


async def build(
    server: ServerUnderTest, profile: Profile, pool: WorkerPool, log: Callable[[str], None]
) -> Population:
    record: dict[str, float] = {}
    timer = _Timer(record, log, server.name)
    member_count = max(profile.fanout_members, profile.presence_listeners, profile.senders)
    async with matrix.new_client(server.base_url, SETUP_CONCURRENCY + 2) as http:

        async def register_all() -> list[User]:
            names = ["alice", "bob", "carol"]
            names += [f"m{i}" for i in range(member_count)]
            names += [f"t{i}" for i in range(profile.presence_togglers)]
            names += [f"i{i}" for i in range(profile.idle_users)]
            return await _bounded(matrix.register(http, name) for name in names)

        users = await timer.step("register", register_all())
        alice, bob, carol = users[:3]
        members = users[3 : 3 + member_count]
        togglers = users[3 + member_count : 3 + member_count + profile.presence_togglers]
        idle_users = users[3 + member_count + profile.presence_togglers :]

        async def room(owner: User, name: str) -> str:
            return await matrix.create_room(http, owner, preset="public_chat", name=name)

        async def create_rooms() -> list[str]:
            specs = [
                (alice, "latency"),
                (alice, "throughput"),
                (alice, "fanout"),
                (alice, "presence"),
                (alice, "history"),
                (alice, "idle"),
            ]
            specs += [(members[i], f"throughput {i}") for i in range(profile.senders)]
            specs += [(carol, f"sync {i}") for i in range(profile.sync_rooms)]
            return await _bounded(room(owner, name) for owner, name in specs)

        rooms = await timer.step("createRoom", create_rooms())
        latency_room, throughput_room, fanout_room, presence_room, history_room = rooms[:5]
        idle_room = rooms[5]
        throughput_rooms = rooms[6 : 6 + profile.senders]
        sync_rooms = rooms[6 + profile.senders :]

        async def join_all() -> None:
            joins: list[tuple[User, str]] = [(bob, latency_room), (bob, throughput_room)]
            joins += [(bob, r) for r in throughput_rooms]
            joins += [(m, throughput_room) for m in members[: profile.senders]]
            joins += [(m, history_room) for m in members[: profile.senders]]
            joins += [(m, fanout_room) for m in members[: profile.fanout_members]]
            joins += [(m, presence_room) for m in members[: profile.presence_listeners]]
            joins += [(t, presence_room) for t in togglers]
            joins += [(i, idle_room) for i in idle_users]
            await _bounded(matrix.join(http, user, room_id) for user, room_id in joins)

        await timer.step("join", join_all())

    async def fill_rooms() -> None:
        senders = members[: profile.senders]
        jobs: list[tuple[dict[str, str], str, int]] = []
        # The history room: its events from several senders at once.
        share, rest = divmod(profile.history_events, len(senders))
        for index, sender in enumerate(senders):
            jobs.append((asdict(sender), history_room, share + (1 if index < rest else 0)))
        jobs += [(asdict(carol), r, profile.sync_room_events) for r in sync_rooms]
        per_worker: list[list[tuple[dict[str, str], str, int]]] = [
            jobs[i :: pool.size] for i in range(pool.size)
        ]
        await asyncio.gather(
            *(
                pool.run("fill", {"base_url": server.base_url, "jobs": chunk, "tag": "fill"})
                for chunk in per_worker
                if chunk
            )
        )

    await timer.step("fill", fill_rooms())
    return Population(
        alice=alice,
        bob=bob,
        carol=carol,
        members=members,
        togglers=togglers,
        idle_users=idle_users,
        latency_room=latency_room,
        throughput_room=throughput_room,
        throughput_rooms=throughput_rooms,
        fanout_room=fanout_room,
        presence_room=presence_room,
        history_room=history_room,
        sync_rooms=sync_rooms,
        idle_room=idle_room,
        setup_seconds=record,
    )


def describe(population: Population) -> dict[str, Any]:
    return {"setup_seconds": population.setup_seconds}
