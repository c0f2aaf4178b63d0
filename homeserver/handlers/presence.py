"""Online status, designed to be cheap.

Presence is the feature large servers switch off because each change fans out
to everyone who shares a room, and naive servers write to the database on
every heartbeat. Here:
- state lives in memory; the database gets a coalesced snapshot every
  `persist_interval` seconds (and at shutdown), never a write per request;
- activity that changes nothing visible (an online user syncing again) costs a
  dictionary update: no stream position, no wake-up;
- a visible change takes one position in the in-memory presence stream and
  wakes only the waiters (connected clients) in the user's rooms;
- readers see only users they share a room with.

A user is online while a client is connected or syncing, unavailable after
`idle_after` without activity, and offline `offline_grace` after the last
connection or sync request ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from homeserver.errors import MatrixError
from homeserver.handlers.user_rooms import UserRooms
from homeserver.storage import Storage
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import EphemeralStream
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

STATES = ("online", "unavailable", "offline")
MAX_STATUS_LENGTH = 256
# Within this many ms of the last activity a user counts as currently active.
CURRENTLY_ACTIVE_MS = 60_000
# The expiry check lets other work run after this many users.
EXPIRY_SLICE = 200


@dataclass
class _UserPresence:
    state: str = "offline"
    status_msg: str | None = None
    last_active_ts: int = 0
    # The state the user chose (PUT /presence); "online" by default.
    chosen: str = "online"
    connections: int = 0
    # Monotonic time until which a long-poll sync keeps the user online.
    sync_until: float = 0.0
    position: int = 0
    currently_active: bool = False
    dirty: bool = False
    rooms: frozenset[str] = field(default_factory=frozenset)
    # Another server's user: its server tells us the state (m.presence EDUs);
    # no expiry here, nothing saved.
    remote: bool = False
    # A cluster worker's copy of what another worker decided (the user is
    # active there): that worker expires it and saves it, not this one.
    mirrored: bool = False


@dataclass(frozen=True)
class PresenceSettings:
    idle_after_seconds: float = 300.0
    offline_grace_seconds: float = 30.0
    check_interval_seconds: float = 5.0
    persist_interval_seconds: float = 60.0
    # Changes within this window wake each waiting client once, not once per
    # change: when many people come online together (the morning, a restart)
    # a client is woken a few times instead of once per colleague.
    coalesce_seconds: float = 0.25


class PresenceHandler:
    def __init__(
        self,
        storage: Storage,
        notifier: Notifier,
        user_rooms: UserRooms,
        settings: PresenceSettings | None = None,
    ) -> None:
        self._storage = storage
        self._notifier = notifier
        self._user_rooms = user_rooms
        self._settings = settings or PresenceSettings()
        self.stream = EphemeralStream()
        self._users: dict[str, _UserPresence] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.changes_announced = 0
        self._pending_rooms: set[str] = set()
        self._pending_users: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._listeners: list[Callable[[str, dict[str, Any]], Awaitable[None]]] = []
        # A cluster worker: `relay(user_id, state)` tells the other workers of
        # each visible change of a local user decided here (`apply_remote`).
        self.relay: Callable[[str, dict[str, Any]], None] | None = None

    def add_listener(self, listener: Callable[[str, dict[str, Any]], Awaitable[None]]) -> None:
        """`listener(user_id, content)` hears of every visible change (federation
        sends our users' changes to the servers sharing their rooms)."""
        self._listeners.append(listener)

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        for row in await self._storage.presence.load_all():
            self._users[row.user_id] = _UserPresence(
                state="offline",
                status_msg=row.status_msg,
                last_active_ts=row.last_active_ts,
                chosen=row.state if row.state != "offline" else "online",
            )
        self._tasks = [
            asyncio.create_task(self._expire_loop(), name="presence-expiry"),
            asyncio.create_task(self._persist_loop(), name="presence-persist"),
        ]

    async def stop(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.persist()

    # -- activity ------------------------------------------------------------------

    async def connected(self, user_id: str) -> None:
        self._own(user_id)
        entry = self._entry(user_id)
        entry.connections += 1
        await self._touch(user_id, entry)

    async def disconnected(self, user_id: str) -> None:
        self._own(user_id)
        entry = self._entry(user_id)
        entry.connections = max(0, entry.connections - 1)
        if entry.connections == 0:
            # Offline comes after the grace period, from the expiry loop.
            entry.sync_until = max(entry.sync_until, time.monotonic())

    async def active(self, user_id: str) -> None:
        self._own(user_id)
        """The user did something (sent, typed, read)."""
        await self._touch(user_id, self._entry(user_id))

    async def syncing(self, user_id: str, set_presence: str, timeout_ms: int) -> None:
        """A long-poll /sync arrived: online until it ends plus the grace."""
        self._own(user_id)
        entry = self._entry(user_id)
        if set_presence == "offline":
            return
        entry.sync_until = max(entry.sync_until, time.monotonic() + timeout_ms / 1000)
        if set_presence == "unavailable":
            await self._set_state(user_id, entry, "unavailable")
            return
        # A client polling in the background keeps the user reachable, but is
        # not activity: only coming back from offline counts.
        if entry.state == "offline":
            await self._touch(user_id, entry)

    async def set_status(self, user_id: str, state: Any, status_msg: Any) -> None:
        if state not in STATES:
            raise MatrixError(
                400, "M_INVALID_PARAM", "presence must be online, unavailable or offline"
            )
        if status_msg is not None and (
            not isinstance(status_msg, str) or len(status_msg) > MAX_STATUS_LENGTH
        ):
            raise MatrixError(400, "M_INVALID_PARAM", "status_msg must be a short string")
        entry = self._own(user_id)
        entry.chosen = state
        status_changed = entry.status_msg != status_msg
        entry.status_msg = status_msg
        entry.last_active_ts = now_ms()
        if state == "online":
            entry.currently_active = True
        if not await self._set_state(user_id, entry, state) and status_changed:
            await self._announce(user_id, entry)

    async def set_remote(
        self,
        user_id: str,
        state: str,
        status_msg: str | None,
        last_active_ago: int | None,
        currently_active: bool,
    ) -> None:
        """Another server's word on one of its users (an m.presence EDU)."""
        if state not in STATES:
            return
        entry = self._entry(user_id)
        entry.remote = True
        if last_active_ago is not None and last_active_ago >= 0:
            entry.last_active_ts = now_ms() - last_active_ago
        changed = (
            entry.state != state
            or entry.status_msg != status_msg
            or entry.currently_active != currently_active
        )
        entry.state, entry.status_msg, entry.currently_active = state, status_msg, currently_active
        if changed:
            await self._announce(user_id, entry)

    async def apply_remote(self, user_id: str, state: dict[str, Any]) -> None:
        """What another worker of the cluster decided for one of our users."""
        if state.get("presence") not in STATES:
            return
        entry = self._entry(user_id)
        entry.mirrored = True
        entry.state = str(state["presence"])
        status = state.get("status_msg")
        entry.status_msg = status if isinstance(status, str) else None
        active = state.get("last_active_ts")
        entry.last_active_ts = active if isinstance(active, int) else entry.last_active_ts
        entry.currently_active = bool(state.get("currently_active"))
        await self._announce(user_id, entry)

    def _own(self, user_id: str) -> _UserPresence:
        """The user is active on this worker: it decides their presence now."""
        entry = self._entry(user_id)
        entry.mirrored = False
        return entry

    def _entry(self, user_id: str) -> _UserPresence:
        entry = self._users.get(user_id)
        if entry is None:
            entry = self._users[user_id] = _UserPresence()
        return entry

    async def _touch(self, user_id: str, entry: _UserPresence) -> None:
        entry.last_active_ts = now_ms()
        entry.dirty = True
        target = "unavailable" if entry.chosen == "unavailable" else "online"
        changed = await self._set_state(user_id, entry, target)
        if not changed and not entry.currently_active:
            entry.currently_active = True
            await self._announce(user_id, entry)
        entry.currently_active = True

    async def _set_state(self, user_id: str, entry: _UserPresence, state: str) -> bool:
        if entry.state == state:
            return False
        entry.state = state
        entry.currently_active = state == "online"
        await self._announce(user_id, entry)
        return True

    async def _announce(self, user_id: str, entry: _UserPresence) -> None:
        entry.dirty = True
        entry.position = self.stream.advance()
        self.changes_announced += 1
        rows = await self._user_rooms.rooms_for_user(user_id)
        entry.rooms = frozenset(r.room_id for r in rows)
        self._pending_rooms.update(entry.rooms)
        # The user's own devices see their presence too.
        self._pending_users.add(user_id)
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(self._settings.coalesce_seconds, self._flush)
        if entry.remote or entry.mirrored:
            entry.dirty = False
            return
        if self.relay is not None:
            self.relay(
                user_id,
                {
                    "presence": entry.state,
                    "status_msg": entry.status_msg,
                    "last_active_ts": entry.last_active_ts,
                    "currently_active": entry.currently_active,
                },
            )
        for listener in self._listeners:
            try:
                await listener(user_id, self.content(user_id))
            except Exception:
                logger.exception("presence listener failed", extra={"user_id": user_id})

    def _flush(self) -> None:
        """Wakes the waiters of every room and user with presence news, once."""
        self._flush_handle = None
        position = self.stream.current
        rooms, self._pending_rooms = self._pending_rooms, set()
        users, self._pending_users = self._pending_users, set()
        for room_id in rooms:
            self._notifier.notify_room_ephemeral(room_id, "presence", position)
        self._notifier.notify_users_ephemeral(users, "presence", position)

    # -- background ----------------------------------------------------------------

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.check_interval_seconds)
            try:
                await self.expire()
            except Exception:
                logger.exception("presence expiry failed")

    async def expire(self) -> None:
        """Online users without activity become unavailable; users with no
        connection and no recent sync become offline."""
        now = time.monotonic()
        wall = now_ms()
        for index, (user_id, entry) in enumerate(list(self._users.items())):
            if index % EXPIRY_SLICE == EXPIRY_SLICE - 1:
                # Thousands of users going idle together must not hold up requests.
                await asyncio.sleep(0)
            if entry.state == "offline" or entry.remote or entry.mirrored:
                continue
            gone = (
                entry.connections == 0
                and now > entry.sync_until + self._settings.offline_grace_seconds
            )
            if gone:
                await self._set_state(user_id, entry, "offline")
                continue
            idle_ms = wall - entry.last_active_ts
            if entry.currently_active and idle_ms > CURRENTLY_ACTIVE_MS:
                entry.currently_active = False
            if entry.state == "online" and idle_ms > self._settings.idle_after_seconds * 1000:
                await self._set_state(user_id, entry, "unavailable")

    async def _persist_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.persist_interval_seconds)
            try:
                await self.persist()
            except Exception:
                logger.exception("presence snapshot failed")

    async def persist(self) -> None:
        dirty = [(u, e) for u, e in self._users.items() if e.dirty]
        if not dirty:
            return
        await self._storage.presence.save(
            [(user_id, e.state, e.status_msg, e.last_active_ts) for user_id, e in dirty],
            now_ms(),
        )
        for _, entry in dirty:
            entry.dirty = False

    # -- reading -------------------------------------------------------------------

    def content(self, user_id: str) -> dict[str, Any]:
        entry = self._users.get(user_id) or _UserPresence()
        content: dict[str, Any] = {
            "presence": entry.state,
            "currently_active": entry.currently_active and entry.state == "online",
        }
        if entry.last_active_ts:
            content["last_active_ago"] = max(0, now_ms() - entry.last_active_ts)
        if entry.status_msg is not None:
            content["status_msg"] = entry.status_msg
        return content

    def users_changed_since(self, since: int | None) -> set[str]:
        """Users whose presence has a position after `since` (all known users
        with a state worth telling, when `since` is None)."""
        if since is None:
            return {u for u, e in self._users.items() if e.position or e.state != "offline"}
        return {u for u, e in self._users.items() if e.position > since}

    def current(self, user_ids: Iterable[str]) -> list[dict[str, Any]]:
        """m.presence events with the users' current presence (those the server
        has seen at all)."""
        return [
            {"type": "m.presence", "sender": user_id, "content": self.content(user_id)}
            for user_id in user_ids
            if user_id in self._users
        ]

    def changed_since(self, since: int | None, visible_to: Iterable[str]) -> list[dict[str, Any]]:
        """m.presence events for the users in `visible_to` whose presence changed
        after `since` (everyone known, for an initial sync)."""
        events = []
        for user_id in visible_to:
            entry = self._users.get(user_id)
            if entry is None or (since is not None and entry.position <= since):
                continue
            if since is None and entry.position == 0 and entry.state == "offline":
                continue
            events.append(
                {"type": "m.presence", "sender": user_id, "content": self.content(user_id)}
            )
        return events
