"""The Redis feed between workers: a message published by one reaches the
others (not itself), and after Redis restarts the feed reconnects by itself
and calls `on_connected`, so the worker re-reads what it may have missed.
Runs a private redis-server (never restarts the shared one)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from homeserver.streams.cluster_feed import ClusterFeed
from tests.e2e.conftest import free_port

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self._directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self._process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def _until(condition: Callable[[], bool], changed: asyncio.Event) -> None:
    async with asyncio.timeout(10):
        while True:
            changed.clear()
            if condition():
                return
            await changed.wait()


async def test_messages_cross_and_redis_restart_is_survived(private_redis: PrivateRedis) -> None:
    changed = asyncio.Event()
    received: dict[str, list[tuple[str, dict[str, Any]]]] = {"a": [], "b": []}
    connections: dict[str, int] = {"a": 0, "b": 0}

    def feed(name: str) -> ClusterFeed:
        def on_message(kind: str, payload: dict[str, Any]) -> None:
            received[name].append((kind, payload))
            changed.set()

        async def on_connected() -> None:
            connections[name] += 1
            changed.set()

        return ClusterFeed(
            private_redis.url,
            name,
            on_message=on_message,
            on_connected=on_connected,
            retry_seconds=0.1,
        )

    a, b = feed("a"), feed("b")
    a.start()
    b.start()
    await _until(lambda: connections == {"a": 1, "b": 1}, changed)
    await a.publish("room", {"room_id": "!r:x", "position": 7})
    await _until(lambda: bool(received["b"]), changed)
    assert received == {"a": [], "b": [("room", {"room_id": "!r:x", "position": 7})]}

    private_redis.stop()
    await a.publish("room", {"position": 8})  # lost, and said so without raising
    private_redis.start()
    await _until(lambda: connections == {"a": 2, "b": 2}, changed)  # re-read after reconnect
    await b.publish("typing", {"room_id": "!r:x"})
    await _until(lambda: len(received["a"]) == 1, changed)
    assert received["a"] == [("typing", {"room_id": "!r:x"})]
    await a.stop()
    await b.stop()
