"""One worker of a cluster: several server processes on one PostgreSQL, told
of each other's news over Redis (REDIS_URL).

- Stream positions come from `streams/multi_writer.py` (one PostgreSQL
  sequence, per-worker safe positions, readers up to the smallest).
- Every durable announcement the notifier makes here (room events, receipts,
  account data, to-device messages, device-list changes) is relayed to the
  other workers, which announce it to their own notifier and drop what their
  in-memory views hold about it (room state and extremities, recent events,
  unread counts, push rules). Typing, presence changes and sign-outs are
  relayed the same way.
- Messages only point at data in PostgreSQL. Pub/sub loses what is published
  while a worker is disconnected, so on every (re)connection the worker drops
  its caches, stops vouching for anything before the newest allocated
  position (sync reads the database for older tokens) and wakes every waiter;
  while disconnected it verifies every access token in the database.
- Work that must happen once per cluster runs on the leader only
  (`storage/leader_lock.py`), see `HomeServer`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from sqlalchemy import make_url

from homeserver.storage.auth_changes import AuthChange
from homeserver.storage.leader_lock import LeaderLock
from homeserver.storage.stream_writers import StreamWriterStore
from homeserver.streams.cluster_feed import ClusterFeed
from homeserver.streams.multi_writer import MultiWriterPositions

if TYPE_CHECKING:
    from homeserver.server import HomeServer

logger = logging.getLogger(__name__)

_NOTIFIER_KINDS = ("room", "receipt", "users", "to_device", "device_lists")
# Announcements queued for Redis while it is away (the oldest are dropped:
# everyone re-reads the database after reconnecting anyway).
MAX_OUTBOX = 10_000
# How soon another worker takes over the once-per-cluster work when the
# leader dies (its PostgreSQL session, and so its lock, ends with it).
LEADER_RETRY_SECONDS = 2.0
# A readable position whose announcement has not come after this long was
# missed: waiters are woken to read the database (checked every SWEEP_SECONDS).
MISSED_AFTER_SECONDS = 2.0
SWEEP_SECONDS = 1.0
AUTH_PUBLISH_WAIT_SECONDS = 1.0


def cluster_channel(database_url: str) -> str:
    """The pub/sub channel of the workers of one database (Redis channels
    are shared by every database index of a Redis server)."""
    url = make_url(database_url)
    where = f"{url.host}:{url.port or 5432}/{url.database}"
    return "homeserver:" + hashlib.sha256(where.encode()).hexdigest()[:16]


def instance_name(port: int) -> str:
    return f"{socket.gethostname()}:{port}:{os.getpid()}"


class Cluster:
    def __init__(self, server: HomeServer, redis_url: str, instance: str) -> None:
        self._server = server
        self.instance = instance
        positions = server.positions
        assert isinstance(positions, MultiWriterPositions)
        self.positions = positions
        self._writers = StreamWriterStore(server.storage.engine)
        self._outbox: asyncio.Queue[tuple[int, str, dict[str, Any]]] = asyncio.Queue(MAX_OUTBOX)
        # Messages numbered as queued; how far publishing got; the newest
        # sign-out queued (a response waits until the others were told).
        self._queued = 0
        self._published = 0
        self._auth_queued = 0
        self._progress = asyncio.Condition()
        self._publisher: asyncio.Task[None] | None = None
        self._applying_remote = False
        self.feed = ClusterFeed(
            redis_url,
            instance,
            channel=cluster_channel(server.config.effective_database_url),
            on_message=self._on_message,
            on_connected=self._on_connected,
            on_disconnected=self._on_disconnected,
        )
        self.messages_received = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.leader: LeaderLock | None = None
        self._sweeper: asyncio.Task[None] | None = None

    # -- wiring ------------------------------------------------------------------

    def start(self) -> None:
        server = self._server
        server.notifier.relay = self.relay
        self.positions.on_progress = lambda safe: self.relay("progress", {"safe": safe})
        server.storage.auth_changes.subscribe(self)
        server.typing.relay = lambda room, user, typing, timeout: self.relay(
            "typing", {"room_id": room, "user_id": user, "typing": typing, "timeout": timeout}
        )
        server.e2ee.to_device.relay = lambda user, device, newest: self.relay(
            "to_device_out", {"user_id": user, "device_id": device, "newest": newest}
        )
        server.e2ee.device_keys.relay = lambda user, device: self.relay(
            "key_counts", {"user_id": user, "device_id": device}
        )
        server.presence.relay = lambda user, state: self.relay(
            "presence", {"user_id": user, "state": state}
        )
        # Until the feed is connected, sign-outs elsewhere could go unheard.
        server.tokens.cache.enabled = False
        self._publisher = asyncio.create_task(self._publish_loop(), name="cluster-publisher")
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="cluster-sweeper")
        self.feed.start()

    # -- once per cluster ----------------------------------------------------------

    async def start_background(self) -> None:
        """Until elected, this worker follows the leader's token-key rotations;
        the leader sends every worker's pushes and does the housekeeping."""
        server = self._server
        server.oauth_housekeeping.on_keys_changed = lambda: self.relay("token_keys", {})
        await server.oauth_housekeeping.start_following()
        self.leader = LeaderLock(
            server.config.effective_database_url,
            "background",
            on_elected=self._elected,
            on_deposed=self._deposed,
            retry_seconds=LEADER_RETRY_SECONDS,
        )
        self.leader.start()

    async def stop_background(self) -> None:
        server = self._server
        if self.leader is not None:
            await self.leader.stop()  # steps down: the work stops here
        await server.oauth_housekeeping.stop()

    async def _elected(self) -> None:
        server = self._server
        logger.info("cluster leader: push sending and housekeeping run here")
        await server.oauth_housekeeping.stop()
        await server.oauth_housekeeping.start()
        await server.push.lead()
        server.e2ee.housekeeping.start()

    async def _deposed(self) -> None:
        server = self._server
        logger.warning("no longer the cluster leader: push sending stops here")
        await server.push.step_down()
        await server.e2ee.housekeeping.stop()
        await server.oauth_housekeeping.stop()
        await server.oauth_housekeeping.start_following()

    async def stop(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            # What is queued goes out first (a worker stopping cleanly tells
            # the others of its last commits at once).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    if self.feed.connected:
                        await self._outbox.join()
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher
        await self.feed.stop()

    def relay(self, kind: str, payload: dict[str, Any]) -> None:
        if self._applying_remote:
            return
        if self._outbox.full():
            with contextlib.suppress(asyncio.QueueEmpty, ValueError):
                self._outbox.get_nowait()
                self._outbox.task_done()
        self._queued += 1
        if kind == "auth":
            self._auth_queued = self._queued
        self._outbox.put_nowait((self._queued, kind, payload))

    async def sign_outs_published(self, timeout_seconds: float = AUTH_PUBLISH_WAIT_SECONDS) -> None:
        """Returns once every sign-out queued so far was published (or, with
        Redis away, after the timeout: the others then verify tokens in the
        database anyway). Called before answering a request, so that a
        sign-out acknowledged here has been sent to every worker."""
        target = self._auth_queued
        if self._published >= target or not self.feed.connected:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_seconds), self._progress:
                await self._progress.wait_for(lambda: self._published >= target)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self._server.notifier.sweep(MISSED_AFTER_SECONDS)

    async def _publish_loop(self) -> None:
        while True:
            number, kind, payload = await self._outbox.get()
            try:
                await self.feed.publish(kind, payload)
            finally:
                self._outbox.task_done()
                async with self._progress:
                    self._published = number
                    self._progress.notify_all()

    # -- AuthListener (storage/auth_changes.py) ----------------------------------

    def auth_changed(self, change: AuthChange) -> None:
        devices = None if change.device_ids is None else sorted(change.device_ids)
        self.relay("auth", {"user_id": change.user_id, "devices": devices})

    def expired_purged(self, now_ms: int) -> None:
        """Each worker prunes its own caches."""

    # -- what the others say -----------------------------------------------------

    def _on_message(self, kind: str, payload: dict[str, Any]) -> None:
        self.messages_received += 1
        server = self._server
        if kind == "progress":
            self.positions.poke()
            return
        if kind in _NOTIFIER_KINDS:
            if kind == "room":
                room_id = str(payload["room_id"])
                server.sender.note_remote_event(room_id, int(payload["position"]))
                server.recent_events.forget(room_id)
                server.unread.forget_room(room_id)
            elif kind == "users":
                for user_id in payload.get("users", ()):
                    server.push.rules.forget(str(user_id))
            # Announced once this worker's readable position gets there (the
            # sender's "progress" message follows, and makes it re-read).
            server.notifier.announce_remote(kind, payload)
            return
        self._applying_remote = True
        try:
            if kind == "auth":
                devices = payload.get("devices")
                server.storage.auth_changes.changed(
                    str(payload["user_id"]), None if devices is None else list(devices)
                )
            elif kind == "typing":
                server.typing.apply_remote(
                    str(payload["room_id"]),
                    str(payload["user_id"]),
                    bool(payload["typing"]),
                    payload.get("timeout"),
                )
            elif kind == "to_device_out":
                server.e2ee.to_device.handed_out(
                    str(payload["user_id"]), str(payload["device_id"]), int(payload["newest"])
                )
            elif kind == "key_counts":
                server.e2ee.device_keys.forget_counts(
                    str(payload["user_id"]), str(payload["device_id"])
                )
            elif kind == "token_keys":
                self._spawn(server.oauth_housekeeping.reload_keys())
            elif kind == "presence":
                self._spawn(
                    server.presence.apply_remote(str(payload["user_id"]), dict(payload["state"]))
                )
        finally:
            self._applying_remote = False

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_connected(self) -> None:
        """Subscribed (again): anything published before may have been missed."""
        server = self._server
        newest = await self._writers.last_allocated()
        server.sender.forget_rooms()
        server.recent_events.clear()
        server.unread.clear()
        server.user_rooms.clear()
        server.push.rules.clear()
        server.e2ee.device_keys.forget_all_counts()
        server.tokens.cache.clear()
        server.tokens.cache.enabled = True
        server.notifier.forget_history(newest)
        server.open_streams.recheck_all()
        self.positions.poke()
        logger.info("cluster feed connected", extra={"instance": self.instance})

    def _on_disconnected(self) -> None:
        self._server.tokens.cache.enabled = False
        self._server.tokens.cache.clear()
