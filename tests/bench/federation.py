"""Federated send -> receive latency: a message sent by a user of one server,
received by a long-polling /sync of a user of the other, for two of ours and
for two Synapses in the same run; plus the CPU each side spends per message
(server process, and its PostgreSQL backends where it uses PostgreSQL).

`python -m tests.bench.federation [--messages N] [--pairs ours-sqlite,...]`
(`make bench` runs it after the single-server workloads). Messages go one at
a time: each is sent once the previous one has arrived, so the figure is the
latency of one message, not a queue's."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import ssl
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from tests.bench import postgres
from tests.bench.procstat import children_of, cpu_seconds, total_cpu_seconds
from tests.bench.stats import percentile
from tests.federation.servers import start_federating_server, wait_for_federation
from tests.federation.synapse_peer import start_synapse
from tests.federation.tls import TestCA
from tests.tools.synapse import BENCH_PYTHON

PAIRS = ("ours-sqlite", "ours-postgresql", "synapse-postgresql")
ADDRESSES = ("127.0.0.11", "127.0.0.12")
PASSWORD = "correct horse battery staple"
_txn = itertools.count(1)


class Peer(Protocol):
    @property
    def base_url(self) -> str: ...

    @property
    def server_name(self) -> str: ...

    def stop(self) -> object: ...


@dataclass
class Side:
    """One server of a pair: how to reach it and what its CPU is."""

    peer: Peer
    pid: int
    database: str | None  # PostgreSQL database name, None on SQLite

    def process_cpu(self) -> float:
        return cpu_seconds(self.pid) + total_cpu_seconds(children_of(self.pid))


@dataclass
class Result:
    pair: str
    latencies_ms: list[float] = field(default_factory=list)
    cpu_ms_per_message: tuple[float, float] = (0.0, 0.0)

    def to_json(self) -> dict[str, Any]:
        values = self.latencies_ms
        return {
            "pair": self.pair,
            "messages": len(values),
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "p99_ms": percentile(values, 99),
            "sender_cpu_ms_per_message": self.cpu_ms_per_message[0],
            "receiver_cpu_ms_per_message": self.cpu_ms_per_message[1],
        }


class Account:
    def __init__(self, base_url: str, user_id: str, token: str) -> None:
        self.user_id = user_id
        self.http = httpx.AsyncClient(
            base_url=f"{base_url}/_matrix/client/v3",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()


async def register(base_url: str, name: str) -> Account:
    async with httpx.AsyncClient(base_url=f"{base_url}/_matrix/client/v3", timeout=60) as http:
        body: dict[str, Any] = {"username": name, "password": PASSWORD}
        first = await http.post("/register", json=body)
        body["auth"] = {"type": "m.login.dummy", "session": first.json()["session"]}
        done = await http.post("/register", json=body)
        done.raise_for_status()
        data = done.json()
    return Account(base_url, data["user_id"], data["access_token"])


async def listen(
    account: Account, room_id: str, arrived: dict[str, float], woke: Callable[[], None]
) -> None:
    """Long-polls /sync, noting when each message body first appears."""
    since: str | None = None
    while True:
        params = {"timeout": "30000"}
        if since:
            params["since"] = since
        body = await account.ok("GET", "/sync", params=params)
        now = time.monotonic()
        since = body["next_batch"]
        room = body.get("rooms", {}).get("join", {}).get(room_id, {})
        for event in room.get("timeline", {}).get("events", []):
            text = event.get("content", {}).get("body")
            if isinstance(text, str) and text not in arrived:
                arrived[text] = now
        woke()


async def measure(sender_side: Side, receiver_side: Side, name: str, count: int) -> Result:
    alice = await register(sender_side.peer.base_url, "alice")
    bob = await register(receiver_side.peer.base_url, "bob")
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok(
        "POST",
        f"/join/{room_id}",
        params={"server_name": sender_side.peer.server_name},
        json={},
    )
    arrived: dict[str, float] = {}
    wake = asyncio.Event()
    listener = asyncio.create_task(listen(bob, room_id, arrived, wake.set))
    result = Result(name)

    async def one(text: str) -> float:
        started = time.monotonic()
        await alice.ok(
            "PUT",
            f"/rooms/{room_id}/send/m.room.message/b{next(_txn)}",
            json={"msgtype": "m.text", "body": text},
        )
        deadline = started + 60
        while text not in arrived:
            wake.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"{name}: {text!r} did not arrive within 60 s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), remaining)
        return (arrived[text] - started) * 1000

    try:
        for index in range(max(10, count // 10)):  # warm-up: connections, keys, caches
            await one(f"warm-up {index}")
        master = await postgres.postmaster_pid() if sender_side.database else 0
        backends = [
            postgres.BackendCpu(master, side.database) if side.database else None
            for side in (sender_side, receiver_side)
        ]
        for meter in backends:
            if meter:
                meter.start()
        before = (sender_side.process_cpu(), receiver_side.process_cpu())
        for index in range(count):
            result.latencies_ms.append(await one(f"message {index}"))
        after = (sender_side.process_cpu(), receiver_side.process_cpu())
        database_cpu = [await meter.stop() if meter else 0.0 for meter in backends]
        result.cpu_ms_per_message = (
            (after[0] - before[0] + database_cpu[0]) * 1000 / count,
            (after[1] - before[1] + database_cpu[1]) * 1000 / count,
        )
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await listener
        await alice.http.aclose()
        await bob.http.aclose()
    return result


@contextlib.asynccontextmanager
async def start_pair(name: str, directory: Path) -> AsyncIterator[tuple[Side, Side]]:
    tls = TestCA(directory)
    uses_postgres = name.endswith("postgresql")
    databases = [f"bench_federation_{index}" for index in range(2)] if uses_postgres else []
    for name_of_database in databases:
        await postgres.create_database(name_of_database, c_locale=name.startswith("synapse"))
    sides: list[Side] = []
    try:
        for index, host in enumerate(ADDRESSES):
            database = databases[index] if databases else None
            if name.startswith("synapse"):
                folder = directory / f"synapse{index}"
                folder.mkdir()
                config = (
                    {"name": "psycopg2", "args": {"user": "postgres", "host": "127.0.0.1",
                                                  "database": database, "cp_min": 5, "cp_max": 10}}
                    if database
                    else None
                )  # fmt: skip
                synapse = await asyncio.to_thread(
                    start_synapse, str(BENCH_PYTHON), folder, tls, host, database=config
                )
                sides.append(Side(synapse, synapse.process.pid, database))
            else:
                url = postgres.sqlalchemy_url(database) if database else ""
                server = await asyncio.to_thread(
                    start_federating_server, directory, index, host, url, tls
                )
                await asyncio.to_thread(
                    wait_for_federation, server, ssl.create_default_context(cafile=str(tls.ca_file))
                )
                assert server.process is not None
                sides.append(Side(server, server.process.pid, database))
        yield sides[0], sides[1]
    finally:
        for side in sides:
            side.peer.stop()
        for name_of_database in databases:
            await postgres.drop_database(name_of_database)


def table(results: list[Result]) -> str:
    lines = [
        "| pair | p50 ms | p95 ms | p99 ms | sender CPU ms/msg | receiver CPU ms/msg |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        row = result.to_json()
        lines.append(
            f"| {row['pair']} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f}"
            f" | {row['sender_cpu_ms_per_message']:.2f}"
            f" | {row['receiver_cpu_ms_per_message']:.2f} |"
        )
    return "\n".join(lines)


async def run(pairs: list[str], count: int, out: Path) -> list[Result]:
    results = []
    for name in pairs:
        if name.endswith("postgresql") and not await postgres.available():
            print(f"skipping {name}: no PostgreSQL at {postgres.ADMIN_DSN}", file=sys.stderr)
            continue
        if name.startswith("synapse") and not BENCH_PYTHON.exists():
            print(f"skipping {name}: Synapse is not installed in .bench-venv", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory(prefix=f"bench-fed-{name}-") as folder:
            async with start_pair(name, Path(folder)) as (sender, receiver):
                print(f"federation: {name}, {count} messages", file=sys.stderr)
                results.append(await measure(sender, receiver, name, count))
    document = json.dumps([r.to_json() for r in results], indent=2) + "\n"
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread((out / "federation.json").write_text, document)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.federation", description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="60 messages")
    parser.add_argument("--pairs", default=",".join(PAIRS))
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args(argv)
    pairs = [p.strip() for p in args.pairs.split(",") if p.strip()]
    unknown = [p for p in pairs if p not in PAIRS]
    if unknown:
        parser.error(f"unknown pairs: {', '.join(unknown)} (from {', '.join(PAIRS)})")
    count = 60 if args.quick else args.messages
    results = asyncio.run(run(pairs, count, Path(args.out)))
    print("\nFederated send -> receive (one message at a time)\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
