"""Several real worker processes on one PostgreSQL database and one Redis
(REDIS_URL): what is sent through any worker reaches the listeners of every
worker (long-poll /sync and the WebSocket stream) exactly once and in one
order, sign-outs end sessions everywhere at once, and clients of a worker
killed with SIGKILL resume on another from their last token."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import websockets

from tests.conftest import TEST_DATABASE_URL
from tests.e2e.conftest import ServerProcess, StartServer, base_env, free_port
from tests.e2e.helpers import PASSWORD, V3, User, create_room, login, ok, q, register
from tests.e2e.stream_client import SOCKET_PATH, StreamClient
from tests.notifications.push_service import PushService
from tests.ops.nginx import Nginx, nginx_binary
from tests.streams.test_cluster_feed import REDIS_SERVER, PrivateRedis

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not TEST_DATABASE_URL,
        reason="a cluster needs PostgreSQL (TEST_DATABASE_URL); SQLite serves one process",
    ),
]

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/6")
# A long poll lasts LONG_POLL_MS unless woken; wake-ups must come well within
# (generous for a loaded machine, still far below the poll's own timeout).
LONG_POLL_MS = 30_000
WAKE_SECONDS = 15


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def start_cluster(
    start_server: StartServer, tmp_path: Path
) -> Callable[[int], list[ServerProcess]]:
    if not _redis_reachable():
        pytest.skip(f"needs Redis at {REDIS_URL} (TEST_REDIS_URL)")
    data_dir = tmp_path / "cluster-data"
    # What nginx would serve; every worker issues tokens for that one address.
    env = {"REDIS_URL": REDIS_URL, "PUBLIC_BASEURL": "http://localhost:8008"}

    def start(count: int) -> list[ServerProcess]:
        return [start_server(data_dir=data_dir, env=env) for _ in range(count)]

    return start


def _timeline(body: dict[str, Any], room_id: str) -> list[dict[str, Any]]:
    room = body["rooms"]["join"].get(room_id)
    if room is None:
        return []
    assert not room["timeline"].get("limited") or "since" not in body, "timeline cut"
    return list(room["timeline"]["events"])


async def _send(http: httpx.AsyncClient, user: User, room_id: str, body: str, txn: str) -> str:
    url = f"{V3}/rooms/{q(room_id)}/send/m.room.message/{txn}"
    data = ok(await http.put(url, json={"msgtype": "m.text", "body": body}, headers=user.headers))
    return str(data["event_id"])


# Timelines long enough that no burst of these tests is cut ("limited").
FILTER = '{"room": {"timeline": {"limit": 500}}}'


async def _sync(
    http: httpx.AsyncClient, user: User, since: str | None, timeout_ms: int = 0
) -> dict[str, Any]:
    params = {"timeout": str(timeout_ms), "filter": FILTER}
    if since is not None:
        params["since"] = since
    response = await http.get(
        f"{V3}/sync", params=params, headers=user.headers, timeout=timeout_ms / 1000 + 20
    )
    return dict(ok(response))


async def _long_poll_until(
    http: httpx.AsyncClient, user: User, since: str, room_id: str, event_id: str
) -> None:
    """Long polls until the event arrives, within WAKE_SECONDS: only a poll
    woken by the event (not by its timeout) gets there in time."""
    async with asyncio.timeout(WAKE_SECONDS):
        while True:
            body = await _sync(http, user, since, timeout_ms=LONG_POLL_MS)
            if event_id in [e["event_id"] for e in _timeline(body, room_id)]:
                return
            since = body["next_batch"]


async def _join(http: httpx.AsyncClient, user: User, room_id: str) -> None:
    ok(await http.post(f"{V3}/join/{q(room_id)}", json={}, headers=user.headers))


async def test_send_through_one_worker_wakes_listeners_on_the_other(
    start_cluster: Callable[[int], list[ServerProcess]],
) -> None:
    one, two = start_cluster(2)
    async with (
        httpx.AsyncClient(base_url=one.base_url, timeout=30) as h1,
        httpx.AsyncClient(base_url=two.base_url, timeout=30) as h2,
    ):
        ana = await register(h1, "ana")
        bob = await register(h2, "bob")
        room = await create_room(h1, ana, preset="public_chat")
        await _join(h2, bob, room)  # the room created on worker 1, joined on worker 2
        first = await _sync(h2, bob, None)
        since = first["next_batch"]
        stream = await StreamClient.connect(two.base_url, bob.access_token, since=since)
        try:
            await stream.expect("ready")  # (a sync frame comes only with news)
            seen: set[str] = set()

            async def send_later() -> str:
                await asyncio.sleep(1)  # the long poll is waiting on worker 2 by then
                return await _send(h1, ana, room, "hello across", "x1")

            sending = asyncio.create_task(send_later())
            # Long polls: only a poll woken by the event answers in time.
            async with asyncio.timeout(WAKE_SECONDS):
                while not (sending.done() and sending.result() in seen):
                    body = await _sync(h2, bob, since, timeout_ms=LONG_POLL_MS)
                    seen.update(e["event_id"] for e in _timeline(body, room))
                    since = body["next_batch"]
            event_id = sending.result()
            await stream.sync_until(
                lambda data: event_id in [e["event_id"] for e in _timeline(data, room)],
                timeout=WAKE_SECONDS,
            )
            # And the other way round: worker 2 to a long poll on worker 1.
            ana_since = (await _sync(h1, ana, None))["next_batch"]
            back = await _send(h2, bob, room, "and back", "y1")
            await _long_poll_until(h1, ana, ana_since, room, back)
        finally:
            await stream.connection.close()


async def test_typing_crosses_workers(
    start_cluster: Callable[[int], list[ServerProcess]],
) -> None:
    one, two = start_cluster(2)
    async with (
        httpx.AsyncClient(base_url=one.base_url, timeout=30) as h1,
        httpx.AsyncClient(base_url=two.base_url, timeout=30) as h2,
    ):
        ana = await register(h1, "ana")
        bob = await register(h2, "bob")
        room = await create_room(h1, ana, preset="public_chat")
        await _join(h2, bob, room)
        since = (await _sync(h2, bob, None))["next_batch"]

        async def type_later() -> None:
            await asyncio.sleep(1)
            url = f"{V3}/rooms/{q(room)}/typing/{q(ana.user_id)}"
            ok(await h1.put(url, json={"typing": True, "timeout": 20_000}, headers=ana.headers))

        typing_task = asyncio.create_task(type_later())
        typing: list[str] = []
        async with asyncio.timeout(WAKE_SECONDS):  # long polls: woken, or too late
            while typing != [ana.user_id]:
                body = await _sync(h2, bob, since, timeout_ms=LONG_POLL_MS)
                since = body["next_batch"]
                joined = body["rooms"]["join"].get(room, {})
                for event in joined.get("ephemeral", {}).get("events", []):
                    if event["type"] == "m.typing":
                        typing = event["content"]["user_ids"]
        await typing_task


async def test_concurrent_sends_through_both_workers_are_seen_once_in_one_order(
    start_cluster: Callable[[int], list[ServerProcess]],
) -> None:
    workers = start_cluster(2)
    clients = [httpx.AsyncClient(base_url=w.base_url, timeout=60) for w in workers]
    try:
        ana = await register(clients[0], "ana")
        bob = await register(clients[1], "bob")
        rooms = [await create_room(clients[0], ana, preset="public_chat") for _ in range(2)]
        for room in rooms:
            await _join(clients[1], bob, room)
        readers = [(clients[0], ana), (clients[1], bob), (clients[1], ana), (clients[0], bob)]
        starts = [(await _sync(h, u, None))["next_batch"] for h, u in readers]
        sent: dict[str, str] = {}
        rng = random.Random(15)
        plan = [(i, rng.randrange(2), rng.choice(rooms)) for i in range(100)]
        done = asyncio.Event()
        seen: list[list[str]] = [[] for _ in readers]

        async def send(index: int, worker: int, room: str) -> None:
            user = ana if index % 2 else bob
            await asyncio.sleep(rng.random() * 0.5)
            body = f"m{index}"
            if index % 5 == 0:  # mixed: state events (the topic) among the messages
                url = f"{V3}/rooms/{q(room)}/state/m.room.topic"  # (ana created the rooms)
                answer = await clients[worker].put(url, json={"topic": body}, headers=ana.headers)
                event_id = str(ok(answer)["event_id"])
            else:
                event_id = await _send(clients[worker], user, room, body, f"c{index}")
            sent[event_id] = body

        async def read(reader: int) -> None:
            http, user = readers[reader]
            since = starts[reader]
            while True:
                finished = done.is_set()
                body = await _sync(http, user, since, timeout_ms=0 if finished else 2_000)
                for room in rooms:
                    for event in _timeline(body, room):
                        if event["type"] in ("m.room.message", "m.room.topic"):
                            seen[reader].append(event["event_id"])
                since = body["next_batch"]
                if finished:
                    return

        reading = [asyncio.create_task(read(i)) for i in range(len(readers))]
        results = await asyncio.gather(*(send(*p) for p in plan), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        assert not failures, failures[:3]
        assert len(sent) == 100
        await asyncio.sleep(2)  # the readers catch up
        done.set()
        await asyncio.gather(*reading)
        for reader, events in enumerate(seen):
            assert len(events) == len(set(events)), f"reader {reader} saw duplicates"
            assert set(events) == set(sent), f"reader {reader} missed {set(sent) - set(events)}"
        # One order for everyone, per room (the order of the room's timeline).
        for room in rooms:
            history = await clients[0].get(
                f"{V3}/rooms/{q(room)}/messages",
                params={"dir": "f", "limit": "1000"},
                headers=ana.headers,
            )
            order = [e["event_id"] for e in ok(history)["chunk"] if e["event_id"] in sent]
            for reader, events in enumerate(seen):
                in_room = [e for e in events if e in set(order)]
                assert in_room == order, f"reader {reader} saw room {room} in another order"
    finally:
        for client in clients:
            await client.aclose()


async def test_sign_out_on_one_worker_ends_the_session_on_the_other(
    start_cluster: Callable[[int], list[ServerProcess]],
) -> None:
    one, two = start_cluster(2)
    async with (
        httpx.AsyncClient(base_url=one.base_url, timeout=30) as h1,
        httpx.AsyncClient(base_url=two.base_url, timeout=30) as h2,
    ):
        ana = await register(h1, "ana")
        # Worker 2 has verified (and cached) the token, and holds a stream open.
        ok(await h2.get(f"{V3}/account/whoami", headers=ana.headers))
        stream = await StreamClient.connect(two.base_url, ana.access_token)
        try:
            await stream.sync()
            ok(await h1.post(f"{V3}/logout", json={}, headers=ana.headers))
            refused = await h2.get(f"{V3}/account/whoami", headers=ana.headers)
            assert refused.status_code == 401, refused.text
            assert refused.json()["errcode"] == "M_UNKNOWN_TOKEN"
            async with asyncio.timeout(10):
                closed = False
                while not closed:
                    try:
                        frame = await stream.frame(10)
                    except Exception:  # the server closed the stream
                        closed = True
                        continue
                    if frame["type"] == "error":
                        closed = True
            assert closed
        finally:
            await stream.connection.close()

        # A password change on worker 1 signs the other devices out on worker 2.
        first = await login(h1, "ana")
        second = await login(h1, "ana")
        ok(await h2.get(f"{V3}/account/whoami", headers=second.headers))  # cached there
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": first.user_id},
            "password": PASSWORD,
        }
        change = {"new_password": "another long password", "auth": auth}
        ok(await h1.post(f"{V3}/account/password", json=change, headers=first.headers))
        refused = await h2.get(f"{V3}/account/whoami", headers=second.headers)
        assert refused.status_code == 401, refused.text


async def test_clients_of_a_killed_worker_resume_on_the_other(
    start_cluster: Callable[[int], list[ServerProcess]],
) -> None:
    doomed, survivor = start_cluster(2)
    async with (
        httpx.AsyncClient(base_url=doomed.base_url, timeout=30) as hd,
        httpx.AsyncClient(base_url=survivor.base_url, timeout=30) as hs,
    ):
        ana = await register(hs, "ana")
        bob = await register(hs, "bob")
        room = await create_room(hs, ana, preset="public_chat")
        await _join(hs, bob, room)
        acknowledged: set[str] = set()
        stop = asyncio.Event()
        # Bob listens on the doomed worker, from his last token.
        token = {"since": (await _sync(hd, bob, None))["next_batch"]}
        seen: list[str] = []

        async def sender(name: str, http: httpx.AsyncClient, user: User) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    acknowledged.add(await _send(http, user, room, f"{name}{n}", f"{name}{n}"))
                except (httpx.TransportError, AssertionError):
                    http = hs  # its worker is gone: go on through the other
                await asyncio.sleep(0.02)

        senders_done = asyncio.Event()

        async def listener() -> None:
            http = hd
            while True:
                # The last read comes after every send was answered (and the
                # dead worker's grace has passed).
                finished = senders_done.is_set()
                try:
                    body = await _sync(http, bob, token["since"], 0 if finished else 1_000)
                except (httpx.TransportError, AssertionError):
                    if finished:
                        raise
                    http = hs  # resume on the other worker from the last token
                    continue
                seen.extend(
                    e["event_id"] for e in _timeline(body, room) if e["type"] == "m.room.message"
                )
                token["since"] = body["next_batch"]
                if finished:
                    return

        tasks = [
            asyncio.create_task(sender("a", hd, ana)),
            asyncio.create_task(sender("b", hs, ana)),
            asyncio.create_task(listener()),
        ]
        await asyncio.sleep(2)
        assert doomed.process is not None
        doomed.process.kill()  # SIGKILL, mid-traffic
        await asyncio.sleep(4)
        stop.set()
        await asyncio.gather(*tasks[:2])
        await asyncio.sleep(3)
        senders_done.set()
        await tasks[2]
        assert len(acknowledged) > 20
        assert len(seen) == len(set(seen)), "an event was delivered twice"
        assert acknowledged <= set(seen), f"lost: {acknowledged - set(seen)}"


def _wait_answering(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_matrix/client/versions").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_run_workers_starts_a_cluster_on_consecutive_ports(
    start_cluster: Callable[[int], list[ServerProcess]], e2e_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    while True:  # two free ports in a row
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
                break
            except OSError:
                port = free_port()
    env = base_env(
        DATA_DIR=str(tmp_path / "workers-data"),
        PORT=str(port),
        BIND_ADDRESS="127.0.0.1",
        SERVER_NAME="localhost",
        RATE_LIMITS_ENABLED="false",
        DATABASE_URL=e2e_database_url,
        REDIS_URL=REDIS_URL,
        PUBLIC_BASEURL="http://localhost:8008",
    )
    urls = [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"]

    async def send_across() -> None:
        async with (
            httpx.AsyncClient(base_url=urls[0], timeout=30) as h1,
            httpx.AsyncClient(base_url=urls[1], timeout=30) as h2,
        ):
            ana = await register(h1, "ana")
            room = await create_room(h1, ana, preset="public_chat")
            since = (await _sync(h2, ana, None))["next_batch"]
            event_id = await _send(h1, ana, room, "through worker 1", "w1")
            await _long_poll_until(h2, ana, since, room, event_id)

    with (tmp_path / "workers.log").open("wb") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "homeserver", "run", "--workers", "2"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            try:
                for url in urls:
                    _wait_answering(url, 40)
            except AssertionError as exc:
                log.flush()
                raise AssertionError(f"{exc}:\n{(tmp_path / 'workers.log').read_text()}") from None
            asyncio.run(send_across())
        finally:
            supervisor.send_signal(signal.SIGTERM)
            code = supervisor.wait(30)
    assert code == 0, (tmp_path / "workers.log").read_text()


def _leader(workers: list[ServerProcess]) -> ServerProcess:
    """The worker that logged its election last (it sends the pushes)."""
    for _ in range(100):
        for worker in workers:
            running = worker.process is not None and worker.process.poll() is None
            if running and "cluster leader: push sending" in worker.logs():
                return worker
        time.sleep(0.1)
    raise AssertionError("no worker says it is the leader")


async def test_pushes_are_sent_once_by_the_leader_and_fail_over(
    start_server: StartServer, tmp_path: Path
) -> None:
    if not _redis_reachable():
        pytest.skip(f"needs Redis at {REDIS_URL} (TEST_REDIS_URL)")
    env = {
        "REDIS_URL": REDIS_URL,
        "PUBLIC_BASEURL": "http://localhost:8008",
        "PUSH_ALLOW_PRIVATE_ADDRESSES": "true",
        "LOG_LEVEL": "INFO",
    }
    data_dir = tmp_path / "cluster-data"
    workers = [start_server(data_dir=data_dir, env=env) for _ in range(2)]
    gateway = PushService()
    await gateway.start()
    clients = [httpx.AsyncClient(base_url=w.base_url, timeout=30) for w in workers]
    try:
        browser = gateway.subscription("bob")
        alice = await register(clients[0], "alice")
        bob = await register(clients[1], "bob")
        room = await create_room(clients[0], alice, preset="public_chat")
        await _join(clients[1], bob, room)
        ok(await clients[1].post(f"{V3}/pushers/set", json=browser.pusher(), headers=bob.headers))
        sent = [await _send(clients[i % 2], alice, room, f"p{i}", f"p{i}") for i in range(10)]
        pushes = await gateway.wait_for("/wpush/bob", 10, timeout=20)
        await asyncio.sleep(2)  # a second sender would have sent its copies by now
        pushed = [browser.decrypt(p.body)["event_id"] for p in gateway.received["/wpush/bob"]]
        assert sorted(pushed) == sorted(sent), "each push exactly once"
        assert len(pushes) == 10

        leader = _leader(workers)
        survivor = workers[1] if leader is workers[0] else workers[0]
        assert leader.process is not None
        leader.process.kill()
        leader.process.wait(10)
        http = clients[workers.index(survivor)]
        more = [await _send(http, alice, room, f"q{i}", f"q{i}") for i in range(5)]
        await gateway.wait_for("/wpush/bob", 15, timeout=30)
        await asyncio.sleep(2)
        pushed = [browser.decrypt(p.body)["event_id"] for p in gateway.received["/wpush/bob"]]
        assert sorted(pushed) == sorted(sent + more), "after the failover: each push once"
    finally:
        for client in clients:
            await client.aclose()
        await gateway.stop()


async def test_two_workers_behind_nginx(
    start_cluster: Callable[[int], list[ServerProcess]], tmp_path: Path
) -> None:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    workers = start_cluster(2)
    web_root = tmp_path / "dist"
    (web_root / "assets").mkdir(parents=True)
    directory = tmp_path / "nginx"
    directory.mkdir()
    nginx = Nginx(binary, directory, free_port(), free_port(), [w.port for w in workers], web_root)
    nginx.write()
    await asyncio.to_thread(nginx.start)
    base = f"https://127.0.0.1:{nginx.https_port}"
    try:
        async with httpx.AsyncClient(base_url=base, verify=False, timeout=40) as http:
            ana = await register(http, "ana")
            bob = await register(http, "bob")
            room = await create_room(http, ana, preset="public_chat")
            await _join(http, bob, room)
            # Round robin spreads these over both workers: each send reaches
            # bob's long polls, whichever worker answers them.
            since = (await _sync(http, bob, None))["next_batch"]
            for i in range(6):
                event_id = await _send(http, ana, room, f"n{i}", f"n{i}")
                await _long_poll_until(http, bob, since, room, event_id)
            # The WebSocket stream through nginx, woken by a send.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            stream = StreamClient(
                await websockets.connect(
                    f"wss://127.0.0.1:{nginx.https_port}{SOCKET_PATH}",
                    subprotocols=["homeserver.sync.v1"],  # type: ignore[list-item]
                    ssl=context,
                    ping_interval=None,
                )
            )
            try:
                await stream.send({"type": "start", "access_token": bob.access_token})
                await stream.expect("ready")
                for i in range(3):
                    event_id = await _send(http, ana, room, f"ws{i}", f"ws{i}")
                    await stream.sync_until(
                        lambda data, e=event_id: (
                            e in [x["event_id"] for x in _timeline(data, room)]
                        ),
                        timeout=WAKE_SECONDS,
                    )
            finally:
                await stream.connection.close()
            # Signed out through nginx: refused by every worker at once.
            ok(await http.post(f"{V3}/logout", json={}, headers=ana.headers))
            for worker in workers:
                async with httpx.AsyncClient(base_url=worker.base_url) as direct:
                    refused = await direct.get(f"{V3}/account/whoami", headers=ana.headers)
                    assert refused.status_code == 401, (worker.port, refused.text)
            # One worker killed: nginx goes on with the other, nothing lost.
            assert workers[0].process is not None
            workers[0].process.kill()
            sent = [await _send(http, bob, room, f"k{i}", f"k{i}") for i in range(4)]
            # Readable once the dead worker's grace is over (a moment).
            got: set[str] = set()
            async with asyncio.timeout(WAKE_SECONDS):
                while not set(sent) <= got:
                    body = await _sync(http, bob, since, timeout_ms=LONG_POLL_MS)
                    got.update(e["event_id"] for e in _timeline(body, room))
                    since = body["next_batch"]
    finally:
        await asyncio.to_thread(nginx.stop)


async def test_after_a_redis_restart_workers_reconnect_and_catch_up(
    start_server: StartServer, tmp_path: Path
) -> None:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (a private one is restarted)")
    private = PrivateRedis(tmp_path)
    private.start()
    try:
        env = {"REDIS_URL": private.url, "PUBLIC_BASEURL": "http://localhost:8008"}
        data_dir = tmp_path / "cluster-data"
        one, two = [start_server(data_dir=data_dir, env=env) for _ in range(2)]
        async with (
            httpx.AsyncClient(base_url=one.base_url, timeout=60) as h1,
            httpx.AsyncClient(base_url=two.base_url, timeout=60) as h2,
        ):
            ana = await register(h1, "ana")
            bob = await register(h2, "bob")
            room = await create_room(h1, ana, preset="public_chat")
            await _join(h2, bob, room)
            since = (await _sync(h2, bob, None))["next_batch"]
            before = await _send(h1, ana, room, "before", "r0")
            await _long_poll_until(h2, bob, since, room, before)
            since = (await _sync(h2, bob, since))["next_batch"]

            private.stop()  # every wake-up published now is lost
            await asyncio.sleep(1)
            during = await _send(h1, ana, room, "while Redis is away", "r1")
            # Bob's token still works on worker 2 (checked in the database).
            ok(await h2.get(f"{V3}/account/whoami", headers=bob.headers))
            private.start()
            # A long poll on worker 2 gets it once the worker has reconnected
            # (it re-reads PostgreSQL and wakes every waiter).
            await _long_poll_until(h2, bob, since, room, during)
            # And the feed works again: a new send wakes worker 2 at once.
            since = (await _sync(h2, bob, since))["next_batch"]
            after = await _send(h1, ana, room, "after", "r2")
            await _long_poll_until(h2, bob, since, room, after)
    finally:
        private.stop()


async def _poll_for(
    http: httpx.AsyncClient,
    user: User,
    since: str,
    found: Callable[[dict[str, Any]], bool],
) -> str:
    """Long polls until `found(body)`, within WAKE_SECONDS; the next since."""
    async with asyncio.timeout(WAKE_SECONDS):
        while True:
            body = await _sync(http, user, since, timeout_ms=LONG_POLL_MS)
            since = body["next_batch"]
            if found(body):
                return since


async def test_presence_receipts_and_to_device_cross_workers(
    start_cluster: Callable[[int], list[ServerProcess]],
) -> None:
    one, two = start_cluster(2)
    async with (
        httpx.AsyncClient(base_url=one.base_url, timeout=60) as h1,
        httpx.AsyncClient(base_url=two.base_url, timeout=60) as h2,
    ):
        ana = await register(h1, "ana")
        bob = await register(h2, "bob")
        room = await create_room(h1, ana, preset="public_chat")
        await _join(h2, bob, room)
        event_id = await _send(h2, bob, room, "read me", "t0")
        since = (await _sync(h2, bob, None))["next_batch"]

        status = {"presence": "online", "status_msg": "on worker 1"}
        url = f"{V3}/presence/{q(ana.user_id)}/status"
        ok(await h1.put(url, json=status, headers=ana.headers))

        def ana_present(body: dict[str, Any]) -> bool:
            return any(
                e["sender"] == ana.user_id and e["content"].get("status_msg") == "on worker 1"
                for e in body.get("presence", {}).get("events", [])
            )

        since = await _poll_for(h2, bob, since, ana_present)

        receipt = f"{V3}/rooms/{q(room)}/receipt/m.read/{q(event_id)}"
        ok(await h1.post(receipt, json={}, headers=ana.headers))

        def read_by_ana(body: dict[str, Any]) -> bool:
            joined = body["rooms"]["join"].get(room, {})
            for event in joined.get("ephemeral", {}).get("events", []):
                if event["type"] == "m.receipt":
                    readers = event["content"].get(event_id, {}).get("m.read", {})
                    if ana.user_id in readers:
                        return True
            return False

        since = await _poll_for(h2, bob, since, read_by_ana)

        message = {"messages": {bob.user_id: {bob.device_id: {"note": "direct"}}}}
        ok(await h1.put(f"{V3}/sendToDevice/m.test/td1", json=message, headers=ana.headers))

        def got_message(body: dict[str, Any]) -> bool:
            events = body.get("to_device", {}).get("events", [])
            return any(e["type"] == "m.test" and e["content"] == {"note": "direct"} for e in events)

        since = await _poll_for(h2, bob, since, got_message)
        # Acknowledged (the next since) on worker 1: not handed out again.
        again = await _sync(h1, bob, since)
        assert not got_message(again)


async def test_a_ban_on_one_worker_stops_sends_through_the_other_at_once(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Even with no word from the other worker (Redis stopped): the send is
    checked at commit against the room's extremities, and rebuilt on the
    room's real state, where the sender is banned."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (a private one is stopped)")
    private = PrivateRedis(tmp_path)
    private.start()
    try:
        env = {"REDIS_URL": private.url, "PUBLIC_BASEURL": "http://localhost:8008"}
        data_dir = tmp_path / "cluster-data"
        one, two = [start_server(data_dir=data_dir, env=env) for _ in range(2)]
        async with (
            httpx.AsyncClient(base_url=one.base_url, timeout=60) as h1,
            httpx.AsyncClient(base_url=two.base_url, timeout=60) as h2,
        ):
            ana = await register(h1, "ana")
            bob = await register(h2, "bob")
            room = await create_room(h1, ana, preset="public_chat")
            await _join(h2, bob, room)
            for i in range(3):  # worker 2 has the room's state cached
                await _send(h2, bob, room, f"before {i}", f"b{i}")
            private.stop()
            await asyncio.sleep(0.5)
            ban = f"{V3}/rooms/{q(room)}/ban"
            ok(await h1.post(ban, json={"user_id": bob.user_id}, headers=ana.headers))
            url = f"{V3}/rooms/{q(room)}/send/m.room.message/after"
            body = {"msgtype": "m.text", "body": "x"}
            refused = await h2.put(url, json=body, headers=bob.headers)
            assert refused.status_code == 403, refused.text
            assert refused.json()["errcode"] == "M_FORBIDDEN"
            # And ana's next send through worker 2 builds on the ban.
            sent = await _send(h2, ana, room, "after the ban", "a1")
            context = ok(
                await h1.get(f"{V3}/rooms/{q(room)}/context/{q(sent)}", headers=ana.headers)
            )
            members = {
                e["state_key"]: e["content"]["membership"]
                for e in context["state"]
                if e["type"] == "m.room.member"
            }
            assert members[bob.user_id] == "ban"
    finally:
        private.stop()
