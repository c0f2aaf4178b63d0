"""The measurements. Each takes the running servers and their populations and
returns raw numbers per server: lists of per-round records, which `report`
turns into medians and ratios.

Rounds alternate between the servers (the order rotates every round), so that
whatever else the machine is doing falls on all of them alike."""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import httpx

from tests.bench import matrix
from tests.bench.meter import Meter
from tests.bench.population import Population
from tests.bench.procstat import cpu_seconds, rss_bytes
from tests.bench.profiles import Profile
from tests.bench.servers import ServerUnderTest
from tests.bench.workers import RunningTask, WorkerPool

T = TypeVar("T")
Record = dict[str, Any]
# results[measurement][server name] -> one record per round
Results = dict[str, dict[str, list[Record]]]
DELIVERY_TIMEOUT = 60.0
INITIAL_SYNC_FILTER = '{"room":{"timeline":{"limit":20}}}'


@dataclass
class Bench:
    pool: WorkerPool
    meter: Meter
    profile: Profile
    log: Callable[[str], None]
    servers: list[ServerUnderTest]
    populations: dict[str, Population]

    def population(self, server: ServerUnderTest) -> Population:
        return self.populations[server.name]


def rotated(items: Sequence[T], shift: int) -> list[T]:
    if not items:
        return []
    shift %= len(items)
    return list(items[shift:]) + list(items[:shift])


def split(items: Sequence[T], parts: int) -> list[list[T]]:
    """`items` dealt into at most `parts` non-empty lists."""
    chunks = [list(items[i::parts]) for i in range(parts)]
    return [c for c in chunks if c]


def _users(users: Sequence[matrix.User]) -> list[dict[str, str]]:
    return [asdict(u) for u in users]


async def fresh_since(
    server: ServerUnderTest, user: matrix.User, set_presence: str | None = None
) -> str:
    """A current sync token (stream positions are server-wide, so any user's
    token serves every listener that starts from now)."""
    async with matrix.new_client(server.base_url, 1) as http:
        body = await matrix.sync(http, user, None, 0, set_presence=set_presence)
        body = await matrix.sync(http, user, body["next_batch"], 0, set_presence=set_presence)
    return str(body["next_batch"])


def _add(results: Results, key: str, server: ServerUnderTest, record: Record) -> None:
    results.setdefault(key, {}).setdefault(server.name, []).append(record)


# -- 1. send -> receive latency --------------------------------------------------------------

LATENCY_VARIANTS = (
    # (result key, receive over, send over, needs our WebSocket)
    ("latency/longpoll", "longpoll", "http", False),
    ("latency/websocket", "websocket", "http", True),
    ("latency/websocket-send", "websocket", "websocket", True),
)


async def latency(bench: Bench, results: Results) -> None:
    profile = bench.profile
    per_round = max(1, profile.latency_messages // profile.latency_rounds)
    for round_index in range(profile.latency_rounds):
        for server in rotated(bench.servers, round_index):
            pop = bench.population(server)
            for key, transport, send_over, needs_ws in LATENCY_VARIANTS:
                if needs_ws and not server.supports_websocket:
                    continue
                if key.removeprefix("latency/") not in profile.latency_variants:
                    continue
                since = await fresh_since(server, pop.bob)
                tag = f"lat{round_index}{key[-4:]}"
                async with bench.meter.measure(server) as usage:
                    out = await bench.pool.run(
                        "latency",
                        {
                            "base_url": server.base_url,
                            "sender": asdict(pop.alice),
                            "receiver": asdict(pop.bob),
                            "room_id": pop.latency_room,
                            "since": since,
                            "count": per_round,
                            "transport": transport,
                            "send_over": send_over,
                            "tag": tag,
                        },
                    )
                out["usage"] = usage.to_json()
                out["messages"] = per_round
                _add(results, key, server, out)
                p50 = sorted(out["latency_ms"])[len(out["latency_ms"]) // 2]
                bench.log(f"  {key} {server.name} round {round_index + 1}: p50 {p50:.1f} ms")


# -- 2. throughput ----------------------------------------------------------------------------


class _Arrivals:
    """Arrival times of tagged messages at one listener task."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.connected = asyncio.Event()
        self.reset = asyncio.Event()
        # The listen task's counts up to its last reset.
        self.counts: dict[str, int] = {}
        self.changed = asyncio.Event()

    def on_event(self, data: dict[str, Any]) -> None:
        if "connected" in data:
            self.connected.set()
        elif "reset" in data:
            self.counts = dict(data.get("counts", {}))
            self.reset.set()
        elif "body" in data:
            self.times.append(float(data["last"]))
            self.changed.set()

    async def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.times) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self.changed.wait()
            except TimeoutError:
                return False
        return True


async def _throughput_round(
    bench: Bench, server: ServerUnderTest, rooms: list[str], tag: str
) -> Record:
    pop = bench.population(server)
    profile = bench.profile
    senders = pop.members[: profile.senders]
    since = await fresh_since(server, pop.bob)
    arrivals = _Arrivals()
    listener = bench.pool.start_task(
        "listen",
        {
            "base_url": server.base_url,
            "users": [asdict(pop.bob)],
            "since": since,
            "transport": "longpoll",
            "tag": tag,
            # Long enough that a burst between two polls is never cut short.
            "timeline_limit": 500,
        },
        on_event=arrivals.on_event,
    )
    await arrivals.connected.wait()
    await asyncio.sleep(0.3)
    pairs = [(asdict(user), rooms[i % len(rooms)]) for i, user in enumerate(senders)]
    chunks = split(pairs, bench.pool.size)
    firsts = [sum(len(c) for c in chunks[:i]) for i in range(len(chunks))]
    lead = 0.5
    start_at = time.time() + lead
    start_mono = time.monotonic() + lead
    window_end = start_mono + profile.throughput_seconds
    async with bench.meter.measure(server) as usage:
        outs = await asyncio.gather(
            *(
                bench.pool.run(
                    "send_load",
                    {
                        "base_url": server.base_url,
                        "senders": chunk,
                        "tag": tag,
                        "start_at": start_at,
                        "duration": profile.throughput_seconds,
                        "first_index": firsts[index],
                    },
                    worker=index,
                )
                for index, chunk in enumerate(chunks)
            )
        )
        acked = sum(o["acked"] for o in outs)
        complete = await arrivals.wait_for(acked, DELIVERY_TIMEOUT)
    listener.signal("stop")
    await listener.result
    delivered_in_window = sum(1 for t in arrivals.times if t <= window_end)
    last = max(arrivals.times, default=window_end)
    ack_ms = [ms for o in outs for ms in o["ack_ms"]]
    return {
        "seconds": profile.throughput_seconds,
        "acked_in_window": sum(o["acked_in_window"] for o in outs),
        "acked": acked,
        "errors": sum(o["errors"] for o in outs),
        "delivered": len(arrivals.times),
        "delivered_in_window": delivered_in_window,
        "all_delivered": complete,
        "drain_seconds": max(0.0, last - window_end),
        "ack_ms": ack_ms,
        "usage": usage.to_json(),
    }


async def throughput(bench: Bench, results: Results) -> None:
    profile = bench.profile
    for round_index in range(profile.throughput_rounds):
        for server in rotated(bench.servers, round_index):
            pop = bench.population(server)
            variants = (
                ("throughput/one-room", [pop.throughput_room]),
                ("throughput/ten-rooms", pop.throughput_rooms),
            )
            for key, rooms in variants:
                tag = f"thr{round_index}{len(rooms)}"
                record = await _throughput_round(bench, server, rooms, tag)
                _add(results, key, server, record)
                bench.log(
                    f"  {key} {server.name} round {round_index + 1}: "
                    f"{record['acked_in_window'] / record['seconds']:.0f} acked/s, "
                    f"{record['delivered_in_window'] / record['seconds']:.0f} delivered/s, "
                    f"server CPU {record['usage']['server_total_cpu']:.1f} s"
                )


# -- 3. fan-out -------------------------------------------------------------------------------


class _FanoutListeners:
    """One server's listeners (a listen task per client process)."""

    def __init__(self) -> None:
        self.tasks: list[RunningTask] = []
        self.arrivals: list[_Arrivals] = []
        self.by_body: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.complete: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def handler(self, arrivals: _Arrivals) -> Callable[[dict[str, Any]], None]:
        def on_event(data: dict[str, Any]) -> None:
            arrivals.on_event(data)
            if "body" in data:
                entries = self.by_body[data["body"]]
                entries.append((float(data["last"]), float(data["median"])))
                if len(entries) == len(self.tasks):
                    self.complete[data["body"]].set()

        return on_event

    async def start(
        self, bench: Bench, server: ServerUnderTest, users: list[matrix.User], transport: str
    ) -> None:
        since = await fresh_since(server, bench.population(server).alice)
        for index, chunk in enumerate(split(users, bench.pool.size)):
            arrivals = _Arrivals()
            self.arrivals.append(arrivals)
            self.tasks.append(
                bench.pool.start_task(
                    "listen",
                    {
                        "base_url": server.base_url,
                        "users": _users(chunk),
                        "since": since,
                        "transport": transport,
                        "tag": "fan",
                    },
                    worker=index,
                    on_event=self.handler(arrivals),
                )
            )
        for arrivals in self.arrivals:
            await arrivals.connected.wait()

    async def reset(self) -> dict[str, int]:
        """Starts counting afresh; returns the counts since the last reset,
        summed over the listen tasks."""
        for arrivals, task in zip(self.arrivals, self.tasks, strict=True):
            arrivals.reset.clear()
            task.signal("reset")
        for arrivals in self.arrivals:
            await arrivals.reset.wait()
        totals: dict[str, int] = defaultdict(int)
        for arrivals in self.arrivals:
            for key, value in arrivals.counts.items():
                totals[key] += value
        return dict(totals)

    async def stop(self) -> list[dict[str, int]]:
        for task in self.tasks:
            task.signal("stop")
        return [await task.result for task in self.tasks]


async def _send_and_wait(
    http: Any, server: ServerUnderTest, pop: Population, listeners: _FanoutListeners, body: str
) -> tuple[float, float] | None:
    started = time.monotonic()
    await matrix.send_text(http, pop.alice, pop.fanout_room, body)
    try:
        async with asyncio.timeout(DELIVERY_TIMEOUT):
            await listeners.complete[body].wait()
    except TimeoutError:
        return None
    entries = listeners.by_body[body]
    last = max(e[0] for e in entries)
    middle = sorted(e[1] for e in entries)[len(entries) // 2]
    return (last - started) * 1000, (middle - started) * 1000


async def fanout(bench: Bench, results: Results) -> None:
    profile = bench.profile
    per_round = max(1, profile.fanout_messages // profile.fanout_rounds)
    for transport in ("longpoll", "websocket"):
        key = f"fanout/{transport}"
        servers = [s for s in bench.servers if transport == "longpoll" or s.supports_websocket]
        listeners: dict[str, _FanoutListeners] = {}
        started = time.monotonic()
        for server in servers:
            group = _FanoutListeners()
            members = bench.population(server).members[: profile.fanout_members]
            await group.start(bench, server, members, transport)
            listeners[server.name] = group
        clients = {s.name: matrix.new_client(s.base_url, 2) for s in servers}
        try:
            # A first message reaches everyone: all listeners are live.
            for server in servers:
                warm = f"fan-{transport}-warm"
                await _send_and_wait(
                    clients[server.name],
                    server,
                    bench.population(server),
                    listeners[server.name],
                    warm,
                )
            bench.log(f"  {key}: listeners connected in {time.monotonic() - started:.1f} s")
            for round_index in range(profile.fanout_rounds):
                for server in rotated(servers, round_index):
                    group = listeners[server.name]
                    await group.reset()
                    lasts: list[float] = []
                    middles: list[float] = []
                    timeouts = 0
                    async with bench.meter.measure(server) as usage:
                        for index in range(per_round):
                            body = f"fan-{transport}-{round_index}-{index}"
                            out = await _send_and_wait(
                                clients[server.name],
                                server,
                                bench.population(server),
                                group,
                                body,
                            )
                            if out is None:
                                timeouts += 1
                            else:
                                lasts.append(out[0])
                                middles.append(out[1])
                    # What this round's messages woke, and nothing after it.
                    woken = await group.reset()
                    _add(
                        results,
                        key,
                        server,
                        {
                            "members": profile.fanout_members,
                            "messages": per_round,
                            "last_ms": lasts,
                            "median_member_ms": middles,
                            "timeouts": timeouts,
                            "wakeups": woken.get("wakeups", 0),
                            "usage": usage.to_json(),
                        },
                    )
                    bench.log(
                        f"  {key} {server.name} round {round_index + 1}: "
                        f"last member p50 {sorted(lasts)[len(lasts) // 2] if lasts else -1:.0f} ms"
                    )
            for server in servers:
                counts = await listeners[server.name].stop()
                results[key][server.name][-1]["listener_errors"] = sum(c["errors"] for c in counts)
        finally:
            for client in clients.values():
                await client.aclose()


# -- 4. history ---------------------------------------------------------------------------------


async def _walk_history(server: ServerUnderTest, pop: Population, page: int) -> list[float]:
    """Pages from the newest event to the oldest; milliseconds per page."""
    times: list[float] = []
    async with matrix.new_client(server.base_url, 1) as http:
        token: str | None = None
        for _ in range(100_000):
            started = time.monotonic()
            body = await matrix.messages(http, pop.alice, pop.history_room, token, page)
            times.append((time.monotonic() - started) * 1000)
            end = body.get("end")
            if not body.get("chunk") or end is None or end == token:
                break
            token = end
    return times


async def history(bench: Bench, results: Results) -> None:
    for round_index in range(2):
        for server in rotated(bench.servers, round_index):
            pop = bench.population(server)
            async with bench.meter.measure(server) as usage:
                times = await _walk_history(server, pop, bench.profile.history_page)
            _add(
                results,
                "history",
                server,
                {
                    "page_ms": times,
                    "events": bench.profile.history_events,
                    "usage": usage.to_json(),
                },
            )
            bench.log(f"  history {server.name} round {round_index + 1}: {len(times)} pages")


# -- 5. initial sync --------------------------------------------------------------------------


async def initial_sync(bench: Bench, results: Results) -> None:
    for round_index in range(bench.profile.sync_repeats):
        for server in rotated(bench.servers, round_index):
            pop = bench.population(server)
            async with (
                matrix.new_client(server.base_url, 1) as http,
                bench.meter.measure(server) as usage,
            ):
                started = time.monotonic()
                # A distinct timeout each time (it returns at once anyway): Synapse
                # keeps a finished sync response for 2 minutes keyed by the request,
                # and a repeat would measure that cache, not the sync.
                body = await matrix.sync(
                    http, pop.carol, None, round_index, sync_filter=INITIAL_SYNC_FILTER
                )
                elapsed = (time.monotonic() - started) * 1000
            rooms = len(body.get("rooms", {}).get("join", {}))
            events = sum(
                len(r.get("timeline", {}).get("events", []))
                for r in body.get("rooms", {}).get("join", {}).values()
            )
            _add(
                results,
                "initial_sync",
                server,
                {
                    "ms": elapsed,
                    "rooms": rooms,
                    "timeline_events": events,
                    "usage": usage.to_json(),
                },
            )
        bench.log(f"  initial sync round {round_index + 1} done")


# -- presence -----------------------------------------------------------------------------------


async def presence(bench: Bench, results: Results) -> None:
    profile = bench.profile
    for server in bench.servers:
        pop = bench.population(server)
        group = _FanoutListeners()
        listeners = pop.members[: profile.presence_listeners]
        # Listeners coming online: each one's presence reaches all the others.
        async with bench.meter.measure(server) as connect_usage:
            await group.start(bench, server, listeners, "longpoll")
            await asyncio.sleep(2.0)
        await group.reset()
        async with bench.meter.measure(server) as usage:
            out = await bench.pool.run(
                "presence_toggle",
                {
                    "base_url": server.base_url,
                    "users": _users(pop.togglers),
                    "changes": profile.presence_changes,
                    "interval": profile.presence_interval,
                },
            )
            await asyncio.sleep(1.0)
        counts = await group.stop()
        record = {
            "listeners": len(listeners),
            "changes": out["changes"],
            "toggle_seconds": out["seconds"],
            "wakeups": sum(c["wakeups"] for c in counts),
            "presence_events": sum(c["presence_events"] for c in counts),
            "usage": usage.to_json(),
            "connect_usage": connect_usage.to_json(),
        }
        _add(results, "presence", server, record)
        bench.log(
            f"  presence {server.name}: {record['wakeups']} wake-ups, "
            f"{record['presence_events']} presence events for {out['changes']} changes"
        )


# -- 6. idle connections ----------------------------------------------------------------------


async def settle(
    server: ServerUnderTest, quiet_percent: float = 10.0, window: float = 0.5, limit: float = 180.0
) -> None:
    """Waits until the server's CPU over `window` s is below `quiet_percent`."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(server.pid)
        await asyncio.sleep(window)
        if (cpu_seconds(server.pid) - before) / window * 100 < quiet_percent:
            return


async def _open_idle(
    bench: Bench,
    server: ServerUnderTest,
    pop: Population,
    transport: str,
    since: str,
    count: int,
    budget: float,
) -> list[RunningTask]:
    """Starts `count` idle connections spread over the client processes and
    returns once every process has opened its share (or run out of time)."""
    shares = split(range(count), bench.pool.size)
    reported: list[dict[str, Any]] = []
    done = asyncio.Event()

    def on_event(data: dict[str, Any]) -> None:
        reported.append(data)
        if len(reported) == len(shares):
            done.set()

    tasks = [
        bench.pool.start_task(
            "idle_connections",
            {
                "base_url": server.base_url,
                "users": _users(pop.idle_users),
                "since": since,
                "count": len(share),
                "transport": transport,
                # A steady ramp, not a reconnection storm: a bounded number of
                # handshakes in flight per client process.
                "concurrency": bench.profile.idle_open_concurrency,
                "budget_seconds": budget,
            },
            worker=index,
            on_event=on_event,
        )
        for index, share in enumerate(shares)
    ]
    await done.wait()
    # A long-poll request counts as open once sent, a socket once `ready`; the
    # server may still be working through the queue of them (first deltas), so
    # the clock stops when it is quiet.
    await settle(server)
    return tasks


def idle_target(profile: Profile, transport: str) -> int:
    if transport == "websocket":
        return profile.idle_connections
    return profile.idle_longpoll_connections


async def _idle_one(
    bench: Bench, server: ServerUnderTest, pop: Population, transport: str
) -> Record:
    """Memory per connection is the slope between a tenth of the connections
    and all of them, in a fresh process: the first tenth pays for warming up
    (imports, caches, pools), and memory freed by earlier workloads is not
    there to be reused."""
    profile = bench.profile
    target = idle_target(profile, transport)
    await server.restart()
    # Offline: the user coming online after the restart would wake every
    # idle connection (they share a room) as they open.
    since = await fresh_since(server, pop.alice, set_presence="offline")
    await settle(server)
    rss_fresh = rss_bytes(server.pid)
    first = max(1, target // 10)
    started = time.monotonic()
    budget = profile.idle_open_budget_seconds
    tasks = await _open_idle(bench, server, pop, transport, since, first, budget)
    rss_warm = rss_bytes(server.pid)
    budget = max(1.0, budget - (time.monotonic() - started))
    rest = target - first
    tasks += await _open_idle(bench, server, pop, transport, since, rest, budget)
    open_seconds = time.monotonic() - started
    rss_open = rss_bytes(server.pid)
    bench.log(f"  {server.name}: holding {transport} connections {profile.idle_hold_seconds} s")
    async with bench.meter.measure(server) as usage:
        await asyncio.sleep(profile.idle_hold_seconds)
    for task in tasks:
        task.signal("stop")
    outs = [await task.result for task in tasks]
    shares = len(split(range(first), bench.pool.size))
    opened_first = sum(o["opened"] for o in outs[:shares])
    await asyncio.sleep(1.0)
    return {
        "target": target,
        "opened": sum(o["opened"] for o in outs),
        "opened_first": opened_first,
        "failed": sum(o["failed"] for o in outs),
        "skipped_for_time": sum(o["skipped"] for o in outs),
        "still_open": sum(o["still_open"] for o in outs),
        "dropped": sum(o["dropped"] for o in outs),
        # What woke the "idle" connections: responses (long-poll) or frames (socket).
        "long_poll_responses": sum(o["long_poll_responses"] for o in outs),
        "sync_frames": sum(o["sync_frames"] for o in outs),
        "errors": [e for o in outs for e in o["errors"]][:10],
        "open_seconds": open_seconds,
        "rss_fresh": rss_fresh,
        "rss_warm": rss_warm,
        "rss_open": rss_open,
        "rss_after_close": rss_bytes(server.pid),
        "hold_usage": usage.to_json(),
    }


async def idle(bench: Bench, results: Results) -> None:
    for server in bench.servers:
        if server.database_kind not in bench.profile.idle_databases:
            continue
        pop = bench.population(server)
        transports = ["websocket", "longpoll"] if server.supports_websocket else ["longpoll"]
        for transport in transports:
            key = f"idle/{transport}"
            record = await _idle_one(bench, server, pop, transport)
            _add(results, key, server, record)
            per_conn = (record["rss_open"] - record["rss_warm"]) / max(
                1, record["opened"] - record["opened_first"]
            )
            bench.log(
                f"  {key} {server.name}: {record['still_open']}/{record['target']} open, "
                f"{record['failed']} failed, {record['dropped']} dropped later, "
                f"{record['skipped_for_time']} not tried (time "
                f"budget); opened in {record['open_seconds']:.1f} s, "
                f"RSS {record['rss_open'] / 2**20:.0f} MiB, "
                f"{per_conn / 1024:.1f} KiB per connection"
            )


# -- 7. media ------------------------------------------------------------------------------------

MB = 1_000_000
TRANSFER_CHUNK = 256 * 1024
# The sizes Synapse thumbnails at upload by default (its `thumbnail_sizes`),
# asked of every server alike.
THUMBNAIL_SIZES = ((32, 32, "crop"), (96, 96, "crop"), (320, 240, "scale"), (640, 480, "scale"))
RSS_SAMPLE_SECONDS = 0.002


class _PeakRss:
    """Samples a process's resident memory from a thread while something
    runs: the peak above what it was at the start."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start = rss_bytes(pid)
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(RSS_SAMPLE_SECONDS)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(self.pid))

    @property
    def rise(self) -> int:
        return self.peak - self.start


async def _upload(
    http: httpx.AsyncClient, user: matrix.User, data: bytes, content_type: str
) -> str:
    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(data), TRANSFER_CHUNK):
            yield data[start : start + TRANSFER_CHUNK]

    response = await http.post(
        "/_matrix/media/v3/upload",
        content=body(),
        headers={
            **user.headers,
            "Content-Type": content_type,
            "Content-Length": str(len(data)),
        },
    )
    return str(matrix.ok(response)["content_uri"]).removeprefix("mxc://")


async def _download(http: httpx.AsyncClient, user: matrix.User, path: str, size: int) -> None:
    received = 0
    async with http.stream(
        "GET", f"/_matrix/client/v1/media/download/{path}", headers=user.headers
    ) as response:
        if response.status_code != 200:
            await response.aread()
            matrix.ok(response)
        async for chunk in response.aiter_raw(TRANSFER_CHUNK):
            received += len(chunk)
    if received != size:
        raise matrix.ApiError(f"downloaded {received} bytes of {size}")


def _test_picture() -> bytes:
    """A 1600x1200 photo-like JPEG (gradients, not noise)."""
    from PIL import Image  # the bench's venv has Pillow (a server dependency)

    image = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def _thumbnail_ms(
    http: httpx.AsyncClient, user: matrix.User, path: str, width: int, height: int, method: str
) -> float:
    started = time.monotonic()
    response = await http.get(
        f"/_matrix/client/v1/media/thumbnail/{path}",
        params={"width": width, "height": height, "method": method},
        headers=user.headers,
    )
    elapsed = (time.monotonic() - started) * 1000
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith(
        "image/"
    ):
        raise matrix.ApiError(f"thumbnail -> {response.status_code}: {response.text[:300]}")
    return elapsed


async def _media_round(bench: Bench, server: ServerUnderTest, round_index: int) -> Record:
    """Throughput of the file (10 MB) and the server's peak RSS rise while it
    moves that file and one four times larger: streamed, both rises are a
    few buffers; buffered, the larger one's would be larger by the difference."""
    profile = bench.profile
    user = bench.population(server).alice
    files = {
        "file": os.urandom(profile.media_file_mb * MB),
        "large": os.urandom(profile.media_large_mb * MB),
    }
    record: Record = {"file_mb": profile.media_file_mb, "large_mb": profile.media_large_mb}
    async with matrix.new_client(server.base_url, 2, timeout=600) as http:
        # Warm-up: the first transfer of a process pays for what it sets up once.
        warm = await _upload(http, user, files["file"], "application/octet-stream")
        await _download(http, user, warm, len(files["file"]))
        for label, data in files.items():
            with _PeakRss(server.pid) as rss:
                started = time.monotonic()
                path = await _upload(http, user, data, "application/octet-stream")
                record[f"upload_{label}_s"] = time.monotonic() - started
            record[f"upload_{label}_rss_rise"] = rss.rise
            with _PeakRss(server.pid) as rss:
                started = time.monotonic()
                await _download(http, user, path, len(data))
                record[f"download_{label}_s"] = time.monotonic() - started
            record[f"download_{label}_rss_rise"] = rss.rise
        picture = await _upload(http, user, _test_picture(), "image/jpeg")
        first = [await _thumbnail_ms(http, user, picture, *size) for size in THUMBNAIL_SIZES]
        repeated = [
            await _thumbnail_ms(http, user, picture, *THUMBNAIL_SIZES[i % len(THUMBNAIL_SIZES)])
            for i in range(profile.thumbnail_requests)
        ]
    record["thumbnail_first_ms"] = first
    record["thumbnail_ms"] = repeated
    mb, large = profile.media_file_mb, profile.media_large_mb

    def rise(key: str) -> str:
        return f"{record[key] / 2**20:.1f}"

    bench.log(
        f"  media {server.name} round {round_index + 1}: upload "
        f"{mb / record['upload_file_s']:.0f} MB/s, download "
        f"{mb / record['download_file_s']:.0f} MB/s ({mb} MB); RSS rise {mb} -> {large} MB: "
        f"upload {rise('upload_file_rss_rise')} -> {rise('upload_large_rss_rise')} MiB, "
        f"download {rise('download_file_rss_rise')} -> {rise('download_large_rss_rise')} MiB; "
        f"thumbnail p50 {sorted(repeated)[len(repeated) // 2]:.1f} ms"
    )
    return record


async def media(bench: Bench, results: Results) -> None:
    for round_index in range(bench.profile.media_rounds):
        for server in rotated(bench.servers, round_index):
            _add(results, "media", server, await _media_round(bench, server, round_index))


WORKLOADS: dict[str, Callable[[Bench, Results], Any]] = {
    "latency": latency,
    "throughput": throughput,
    "fanout": fanout,
    "history": history,
    "initial_sync": initial_sync,
    "presence": presence,
    "idle": idle,
    "media": media,
}
