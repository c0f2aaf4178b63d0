"""What runs inside the client processes (see `workers`). Each task is an
`async def task(ctx, **args)` returning plain data; users arrive as dicts.

Receiving is the same for both transports: long-poll `/sync` (a loop of
`GET /sync?since=...&timeout=30000`) or our WebSocket stream, each handing every
sync body to a callback, which notes when each tagged message first arrived."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from tests.bench import matrix
from tests.bench.matrix import User
from tests.bench.procstat import raise_fd_limit
from tests.bench.rawhttp import RawConnection, RawHttpError
from tests.bench.stream import SyncStream
from tests.bench.workers import TaskContext

LONG_POLL_MS = 30_000
OnBody = Callable[[dict[str, Any]], None]
Task = Callable[..., Awaitable[Any]]


def _user(raw: dict[str, str]) -> User:
    return User(**raw)


async def _receive(
    base_url: str,
    user: User,
    since: str,
    transport: str,
    on_body: OnBody,
    connected: asyncio.Event | None = None,
    timeline_limit: int = 50,
) -> None:
    """Receives until cancelled: over the WebSocket stream, or long-poll
    `/sync` on a connection of its own over the bench's light HTTP client,
    which costs the client (and so the machine) the least per response."""
    sync_filter = matrix.timeline_filter(timeline_limit)
    if transport == "websocket":
        stream = await SyncStream.connect(base_url, user, since, sync_filter=sync_filter)
        if connected is not None:
            connected.set()
        try:
            await stream.run(on_body)
        finally:
            with contextlib.suppress(Exception):
                await stream.close()
        return
    if connected is not None:
        connected.set()
    filter_json = orjson.dumps(sync_filter).decode()
    conn = RawConnection.for_url(base_url)
    try:
        while True:
            body = await matrix.sync_raw(conn, user, since, LONG_POLL_MS, filter_json)
            since = body["next_batch"]
            on_body(body)
    finally:
        conn.close()


async def _wait_until(wall_time: float) -> None:
    delay = wall_time - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


# -- send -> receive latency ----------------------------------------------------------


async def latency(
    ctx: TaskContext,
    base_url: str,
    sender: dict[str, str],
    receiver: dict[str, str],
    room_id: str,
    since: str,
    count: int,
    transport: str,
    send_over: str,
    tag: str,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """`sender` sends `count` messages one at a time, each only after the
    previous one arrived at `receiver`; latency is from just before the send
    until the receiver has the message."""
    a, b = _user(sender), _user(receiver)
    arrived: dict[str, float] = {}
    waiting: dict[str, asyncio.Event] = {}
    wakeups = 0

    def on_body(body: dict[str, Any]) -> None:
        nonlocal wakeups
        wakeups += 1
        now = time.monotonic()
        for text in matrix.timeline_bodies(body, room_id):
            if text.startswith(tag) and text not in arrived:
                arrived[text] = now
                if text in waiting:
                    waiting[text].set()

    latencies: list[float] = []
    acks: list[float] = []
    timeouts = 0
    connected = asyncio.Event()
    receiving = asyncio.create_task(_receive(base_url, b, since, transport, on_body, connected))
    sending_conn = RawConnection.for_url(base_url)
    sending_stream: SyncStream | None = None
    reader: asyncio.Task[None] | None = None
    try:
        await connected.wait()
        if send_over == "websocket":
            sending_stream = await SyncStream.connect(base_url, a, since)
            reader = asyncio.create_task(sending_stream.run(lambda _body: None))
        await asyncio.sleep(0.2)
        # One untimed message first: it opens the sender's connection, so
        # no timed message pays for a TCP handshake.
        for index in range(-1, count):
            text = f"{tag}:{index}"
            waiting[text] = asyncio.Event()
            started = time.monotonic()
            txn = matrix.next_txn()
            if sending_stream is not None:
                await sending_stream.send_message(room_id, txn, text)
            else:
                await matrix.send_text_raw(sending_conn, a, room_id, text, txn)
            ack_ms = (time.monotonic() - started) * 1000
            try:
                async with asyncio.timeout(timeout):
                    await waiting[text].wait()
            except TimeoutError:
                timeouts += 1
                continue
            if index >= 0:
                acks.append(ack_ms)
                latencies.append((arrived[text] - started) * 1000)
            if receiving.done():
                receiving.result()
    finally:
        for task in (receiving, reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if sending_stream is not None:
            with contextlib.suppress(Exception):
                await sending_stream.close()
        sending_conn.close()
    return {"latency_ms": latencies, "ack_ms": acks, "timeouts": timeouts, "wakeups": wakeups}


# -- load: closed-loop senders ----------------------------------------------------------


async def send_load(
    ctx: TaskContext,
    base_url: str,
    senders: list[tuple[dict[str, str], str]],
    tag: str,
    start_at: float,
    duration: float,
    first_index: int = 0,
) -> dict[str, Any]:
    """Each (user, room) sends as fast as its acknowledgements allow, from the
    wall-clock `start_at` for `duration` seconds. Counts the acknowledgements
    that came within the window; the send in flight at the end is finished.
    Bodies are `tag:sender:sequence`, senders numbered from `first_index`."""
    in_window = 0
    total = 0
    errors = 0
    ack_ms: list[float] = []

    async def one(index: int, user: User, room_id: str) -> None:
        nonlocal in_window, total, errors
        end = start_at + duration
        sequence = 0
        conn = RawConnection.for_url(base_url)
        try:
            while time.time() < end:
                text = f"{tag}:{index}:{sequence}"
                sequence += 1
                started = time.monotonic()
                try:
                    await matrix.send_text_raw(conn, user, room_id, text)
                except (matrix.ApiError, RawHttpError, OSError, asyncio.IncompleteReadError):
                    errors += 1
                    continue
                total += 1
                ack_ms.append((time.monotonic() - started) * 1000)
                if time.time() <= end:
                    in_window += 1
        finally:
            conn.close()

    await _wait_until(start_at)
    await asyncio.gather(
        *(
            one(first_index + index, _user(user), room_id)
            for index, (user, room_id) in enumerate(senders)
        )
    )
    return {"acked_in_window": in_window, "acked": total, "errors": errors, "ack_ms": ack_ms}


async def fill(
    ctx: TaskContext, base_url: str, jobs: list[tuple[dict[str, str], str, int]], tag: str
) -> int:
    """Set-up: each (user, room, n) sends n messages, the jobs concurrently."""

    async def one(user: User, room_id: str, n: int) -> int:
        conn = RawConnection.for_url(base_url)
        try:
            for index in range(n):
                await matrix.send_text_raw(conn, user, room_id, f"{tag}:{index}")
        finally:
            conn.close()
        return n

    done = await asyncio.gather(*(one(_user(u), r, n) for u, r, n in jobs))
    return sum(done)


# -- listeners: fan-out, presence, delivery -----------------------------------------------


async def listen(
    ctx: TaskContext,
    base_url: str,
    users: list[dict[str, str]],
    since: str,
    transport: str,
    tag: str,
    connect_concurrency: int = 50,
    timeline_limit: int = 50,
) -> dict[str, Any]:
    """Keeps one live sync connection per user until signalled. For each tagged
    message, when every user here has it, emits {"body", "last", "median"}
    (monotonic arrival times). Emits {"connected": n} once connected."""
    members = [_user(u) for u in users]
    seen: dict[str, list[float]] = {}
    counts = {"wakeups": 0, "presence_events": 0, "tagged": 0, "errors": 0}

    def on_body_for(_index: int) -> OnBody:
        def on_body(body: dict[str, Any]) -> None:
            now = time.monotonic()
            if matrix.is_empty_sync(body):
                return
            counts["wakeups"] += 1
            counts["presence_events"] += matrix.presence_count(body)
            for text in matrix.timeline_bodies(body):
                if not text.startswith(tag):
                    continue
                counts["tagged"] += 1
                times = seen.setdefault(text, [])
                times.append(now)
                if len(times) == len(members):
                    ordered = sorted(times)
                    ctx.emit(
                        {"body": text, "last": ordered[-1], "median": ordered[len(ordered) // 2]}
                    )

        return on_body

    gate = asyncio.Semaphore(connect_concurrency)
    settled = [asyncio.Event() for _ in members]

    async def run_one(index: int, user: User) -> None:
        connected = asyncio.Event()
        try:
            async with gate:
                task = asyncio.create_task(
                    _receive(
                        base_url,
                        user,
                        since,
                        transport,
                        on_body_for(index),
                        connected,
                        timeline_limit,
                    )
                )
                waiting = asyncio.create_task(connected.wait())
                await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
            settled[index].set()
            await task
        except asyncio.CancelledError:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise
        except Exception:
            counts["errors"] += 1
        finally:
            settled[index].set()

    runners = [asyncio.create_task(run_one(i, u)) for i, u in enumerate(members)]
    await asyncio.gather(*(event.wait() for event in settled))
    ctx.emit({"connected": len(members) - counts["errors"]})
    while True:
        signal = await ctx.signals.get()
        if signal == "reset":
            # What was counted since the last reset goes with the answer.
            ctx.emit({"reset": True, "counts": dict(counts)})
            for key in counts:
                counts[key] = 0 if key != "errors" else counts[key]
        else:
            break
    for runner in runners:
        runner.cancel()
    for runner in runners:
        with contextlib.suppress(BaseException):
            await runner
    return counts


async def presence_toggle(
    ctx: TaskContext,
    base_url: str,
    users: list[dict[str, str]],
    changes: int,
    interval: float,
) -> dict[str, Any]:
    """Users take turns switching between online and unavailable, one change
    every `interval` seconds."""
    togglers = [_user(u) for u in users]
    state = dict.fromkeys((u.user_id for u in togglers), "online")
    done = 0
    async with matrix.new_client(base_url, 2) as http:
        started = time.monotonic()
        for index in range(changes):
            user = togglers[index % len(togglers)]
            state[user.user_id] = "unavailable" if state[user.user_id] == "online" else "online"
            await matrix.set_presence(http, user, state[user.user_id])
            done += 1
            pause = started + (index + 1) * interval - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
    return {"changes": done, "seconds": time.monotonic() - started}


# -- idle connections ----------------------------------------------------------------------


class _IdleLongPoll:
    """A client that keeps one long-poll /sync waiting on its own connection,
    over raw HTTP/1.1 (cheap enough for thousands per process): when a response
    comes back (something happened, or the timeout passed), it polls again from
    the new token, as a real client does. A distinct timeout per connection
    keeps servers from answering identical requests with one computation."""

    def __init__(self, base_url: str, user: User, since: str, timeout_ms: int) -> None:
        self.host, port = base_url.removeprefix("http://").split(":")
        self.port = int(port)
        self.user = user
        self.since = since
        self.timeout_ms = timeout_ms
        self.responses = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        await self._request()

    async def _request(self) -> None:
        assert self.writer is not None
        path = (
            f"{matrix.V3}/sync?since={matrix.q(self.since)}&timeout={self.timeout_ms}"
            f"&filter={matrix.q(matrix.SYNC_FILTER_JSON)}&set_presence=offline"
        )
        self.writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {self.user.access_token}\r\n\r\n"
            ).encode()
        )
        await self.writer.drain()

    async def keep_polling(self) -> None:
        """Runs until the connection fails (raises) or the task is cancelled."""
        assert self.reader is not None
        while True:
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)
            }
            if b"content-length" in headers:
                body = await self.reader.readexactly(int(headers[b"content-length"]))
            else:
                body = await self._read_chunked()
            if status != 200:
                raise ConnectionError(f"/sync answered {status}: {body[:200]!r}")
            self.responses += 1
            self.since = orjson.loads(body)["next_batch"]
            await self._request()

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def idle_connections(
    ctx: TaskContext,
    base_url: str,
    users: list[dict[str, str]],
    since: str,
    count: int,
    transport: str,
    concurrency: int = 64,
    budget_seconds: float = 600.0,
) -> dict[str, Any]:
    """Opens up to `count` sync connections (WebSocket streams, or long-poll
    /sync requests), stopping early when `budget_seconds` have passed, and
    holds them idle until signalled; emits {"opened", "failed", "seconds"}.
    The clients say `set_presence: offline`, so that connecting measures the
    connection, not the presence fan-out (the presence workload does that).
    Returns how many were still open at the end."""
    raise_fd_limit()
    members = [_user(u) for u in users]
    gate = asyncio.Semaphore(concurrency)
    streams: list[SyncStream] = []
    readers: list[asyncio.Task[None]] = []
    polls: list[_IdleLongPoll] = []
    failed = 0
    errors: list[str] = []

    deadline = time.monotonic() + budget_seconds
    skipped = 0
    frames = 0

    def count_frame(_body: dict[str, Any]) -> None:
        nonlocal frames
        frames += 1

    async def open_one(index: int) -> None:
        nonlocal failed, skipped
        user = members[index % len(members)]
        async with gate:
            if time.monotonic() > deadline:
                skipped += 1
                return
            try:
                if transport == "websocket":
                    stream = await SyncStream.connect(base_url, user, since, set_presence="offline")
                    streams.append(stream)
                    readers.append(asyncio.create_task(stream.run(count_frame)))
                else:
                    poll = _IdleLongPoll(base_url, user, since, 600_000 + index)
                    await poll.open()
                    polls.append(poll)
                    readers.append(asyncio.create_task(poll.keep_polling()))
            except Exception as exc:
                failed += 1
                if len(errors) < 5:
                    errors.append(repr(exc)[:300])

    started = time.monotonic()
    await asyncio.gather(*(open_one(i) for i in range(count)))
    opened = len(streams) + len(polls)
    ctx.emit(
        {
            "opened": opened,
            "failed": failed,
            "skipped": skipped,
            "seconds": time.monotonic() - started,
        }
    )
    await ctx.signals.get()
    still_open = sum(1 for r in readers if not r.done())
    dropped = 0
    for reader in readers:
        if reader.done() and not reader.cancelled() and reader.exception() is not None:
            dropped += 1
            if len(errors) < 10:
                errors.append("dropped: " + repr(reader.exception())[:300])
    for task in readers:
        task.cancel()
    for stream in streams:
        with contextlib.suppress(Exception):
            await stream.connection.close()
    for poll in polls:
        poll.close()
    for task in readers:
        with contextlib.suppress(BaseException):
            await task
    return {
        "opened": opened,
        "failed": failed,
        "skipped": skipped,
        "still_open": still_open,
        "dropped": dropped,
        "long_poll_responses": sum(p.responses for p in polls),
        "sync_frames": frames,
        "errors": errors,
    }


TASKS: dict[str, Task] = {
    "latency": latency,
    "send_load": send_load,
    "fill": fill,
    "listen": listen,
    "presence_toggle": presence_toggle,
    "idle_connections": idle_connections,
}
