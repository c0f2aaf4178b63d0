"""Sending pushes, off the send path.

As each event commits (in stream order), it goes on a bounded in-memory queue;
sending a message never waits for a push service. Worker
tasks take events from the queue, read the event's stored notification
decisions (the same rows unread counts are made of), skip users who have a
client focused on the room (`AttentionRegistry`) and hand one delivery per
pusher to its sender. Who was looking is noted when the event is queued, the
moment it reaches clients: a user who saw it arrive and looked away before a
busy worker got to it is not pushed about it.

A delivery that fails with 429, 5xx or a network error is tried again after
an exponential back-off (or the service's Retry-After); a pusher the service
says is gone (404/410, or rejected by a gateway) is removed. Nothing is
dropped silently: when the queue or the set of pending deliveries is full,
the push is logged and counted (`PushStats`).

Durable across restarts and crashes: each push decided is written to the
push queue table before it is sent and marked done once it has ended, and
the position up to which every event's pushes are decided is recorded about
once a second (`Progress`). A restart sends the pushes still queued, then
goes through the events after the recorded position again, skipping pushes
already queued or ended. So a push is sent once, unless the process dies
between a push service accepting it and its row being marked done: then it
is sent again after the restart (at least once, never lost)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from homeserver.handlers.push_actions import may_notify
from homeserver.push.attention import AttentionRegistry
from homeserver.push.notification import Notification, priority, tweaks_for_actions
from homeserver.push.outcome import Outcome, Sender
from homeserver.push.progress import Progress
from homeserver.push.retry import RetryPolicy
from homeserver.storage import Storage
from homeserver.storage.events import PendingEvent
from homeserver.storage.push_queue import QueuedPush, push_queue_store
from homeserver.storage.pushers import Pusher, PusherStore
from homeserver.storage.receipts import PushAction

logger = logging.getLogger(__name__)

PROGRESS_FLUSH_SECONDS = 1.0
STOP_GRACE_SECONDS = 1.0
REPLAY_PAGE = 500
_NOTIFICATION_FIELDS = frozenset(f.name for f in fields(Notification))


@dataclass(frozen=True)
class DispatchSettings:
    queue_size: int = 10_000  # events waiting to be looked at
    workers: int = 4
    max_concurrent_sends: int = 32
    max_pending_deliveries: int = 10_000  # sending or waiting to retry
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class PushStats:
    events_queued: int = 0
    events_dropped: int = 0  # the queue was full
    deliveries_dropped: int = 0  # too many deliveries pending
    delivered: int = 0
    retried: int = 0
    failed: int = 0  # gave up (after retries, or a permanent error)
    pushers_removed: int = 0
    events_replayed: int = 0  # looked at again after a restart
    pushes_resumed: int = 0  # still queued at the restart


class PushDispatcher:
    def __init__(
        self,
        storage: Storage,
        pushers: PusherStore,
        attention: AttentionRegistry,
        senders: dict[str, Sender],
        settings: DispatchSettings | None = None,
    ) -> None:
        self._storage = storage
        self._pushers = pushers
        self._attention = attention
        self._senders = senders
        self.settings = settings or DispatchSettings()
        self.stats = PushStats()
        # each event with the users who were watching its room when it was
        # queued, and its stream position
        self._queue: asyncio.Queue[tuple[dict[str, Any], frozenset[str], int | None]] = (
            asyncio.Queue(self.settings.queue_size)
        )
        self._store = push_queue_store(storage)
        self._progress = Progress(0)
        self._recorded: int | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._deliveries: set[asyncio.Task[None]] = set()
        self._sending: set[asyncio.Task[Any]] = set()
        self._sending_changed = asyncio.Event()
        self._send_slots = asyncio.Semaphore(self.settings.max_concurrent_sends)
        # A cluster's leader reads every worker's events from the database
        # (`follow_stream`) instead of hearing of them as they commit here.
        self._followed = 0
        self._follow_upto = 0
        self._follow_wake = asyncio.Event()
        self._follower: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------

    async def start(self, committed_upto: int | None = None) -> None:
        """Starts the workers, then resumes what a previous run left: the
        pushes still queued, and the events after its recorded progress up to
        `committed_upto` (default: the newest stream position)."""
        upto = (
            await self._storage.max_stream_position() if committed_upto is None else committed_upto
        )
        recorded = await self._store.progress()
        if recorded is None:  # a new installation (or one from before the queue)
            await self._store.set_progress(upto)
            recorded = upto
        self._recorded = recorded
        self._progress = Progress(upto)
        self._workers = [
            asyncio.create_task(self._work(), name=f"push-worker-{i}")
            for i in range(self.settings.workers)
        ]
        await self._resume_queued()
        await self._replay(recorded, upto)
        self._flusher = asyncio.create_task(self._flush_progress(), name="push-progress")

    def follow_stream(self, start: int) -> None:
        """From now on events come from the database as the readable stream
        position moves (`stream_advanced`): every worker's, on the one worker
        that sends the cluster's pushes."""
        self._followed = self._follow_upto = start
        self._follower = asyncio.create_task(self._follow(), name="push-follower")

    def stream_advanced(self, current: int) -> None:
        if self._follower is not None and current > self._follow_upto:
            self._follow_upto = current
            self._follow_wake.set()

    async def _follow(self) -> None:
        while True:
            await self._follow_wake.wait()
            self._follow_wake.clear()
            upto = self._follow_upto
            try:
                await self._replay(self._followed, upto, restarting=False)
            except Exception:
                logger.warning("reading events for pushes failed (tried again)", exc_info=True)
                await asyncio.sleep(1)
                self._follow_wake.set()
                continue
            self._progress.seen(upto)
            self._followed = upto

    async def stop(self) -> None:
        """Stops soon: pushes being sent get a moment to land, everything
        else (queued, waiting to retry) is resumed by the next start."""
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(BaseException):
                await follower
        for task in self._workers:
            task.cancel()
        await self._let_sends_land()
        tasks = [*self._workers, *self._deliveries]
        if self._flusher is not None:
            tasks.append(self._flusher)
            self._flusher = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._workers.clear()
        self._deliveries.clear()
        await self._record_progress()
        for sender in self._senders.values():
            await sender.close()

    async def _resume_queued(self) -> None:
        for push in await self._store.pending():
            pusher = await self._pushers.get_pusher(push.user_id, push.app_id, push.pushkey)
            if pusher is None:
                await self._store.finish(push)
                continue
            data = {k: v for k, v in push.notification.items() if k in _NOTIFICATION_FIELDS}
            self.stats.pushes_resumed += 1
            await self._spawn(pusher, Notification(**data), push)

    async def _replay(self, after: int, upto: int, *, restarting: bool = True) -> None:
        replayed = 0
        while after < upto:
            page = await self._storage.events.get_events_between(after, upto, REPLAY_PAGE)
            if not page:
                return
            for stored in page:
                if may_notify(stored.event):
                    self._progress.opened(stored.stream_ordering)
                    if restarting:
                        self.stats.events_replayed += 1
                    replayed += 1
                    watchers = (
                        frozenset() if restarting else self._attention.watchers(stored.room_id)
                    )
                    await self._queue.put((stored.event, watchers, stored.stream_ordering))
            after = page[-1].stream_ordering
        if restarting and replayed:
            logger.info(
                "looking again at events for pushes after a restart",
                extra={"events": self.stats.events_replayed, "after": after},
            )

    async def _flush_progress(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_FLUSH_SECONDS)
            await self._record_progress()

    async def _record_progress(self) -> None:
        through = self._progress.through
        if self._recorded is None or through <= self._recorded:
            return
        try:
            await self._store.set_progress(through)
        except Exception:
            logger.exception("recording push progress failed (it is tried again)")
            return
        self._recorded = through

    async def wait_idle(self) -> None:
        """Returns once every queued event is processed and every delivery
        (with its retries) has ended."""
        while True:
            await self._queue.join()
            if not self._deliveries:
                return
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    @property
    def queue_depth(self) -> int:
        """Events waiting to be looked at."""
        return self._queue.qsize()

    @property
    def pending_deliveries(self) -> int:
        """Deliveries being sent or waiting to be retried."""
        return len(self._deliveries)

    # -- the send path ----------------------------------------------------------

    def on_committed(self, pending: PendingEvent, _previous: int) -> None:
        """The EventSender commit listener (in stream order): never waits."""
        self._accept(pending.event, pending.stream_ordering)
        self._progress.seen(pending.stream_ordering)

    async def enqueue(self, event: dict[str, Any], position: int | None = None) -> None:
        self._accept(event, position)

    def _accept(self, event: dict[str, Any], position: int | None) -> None:
        if not may_notify(event):
            return
        watchers = self._attention.watchers(str(event["room_id"]))
        try:
            self._queue.put_nowait((event, watchers, position))
        except asyncio.QueueFull:
            self.stats.events_dropped += 1
            logger.warning(
                "push queue full: no pushes for this event",
                extra={
                    "event_id": event.get("event_id"),
                    "room_id": event.get("room_id"),
                    "queue_size": self._queue.qsize(),
                    "events_dropped": self.stats.events_dropped,
                },
            )
            return
        if position is not None:
            self._progress.opened(position)
        self.stats.events_queued += 1

    # -- workers ------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            event, watched_by, position = await self._queue.get()
            try:
                await self._process(event, watched_by, position or 0)
            except Exception:
                logger.exception(
                    "push processing failed",
                    extra={"event_id": event.get("event_id"), "room_id": event.get("room_id")},
                )
            finally:
                # (Not when cancelled at shutdown: the next start looks again.)
                if position is not None:
                    self._progress.closed(position)
                self._queue.task_done()

    async def _process(
        self, event: dict[str, Any], watched_by: frozenset[str], position: int
    ) -> None:
        with_pushers = await self._pushers.users_with_pushers()
        if not with_pushers:
            return
        room_id = str(event["room_id"])
        decisions = [
            d
            for d in await self._pushers.notifications_for_event(str(event["event_id"]))
            if d.user_id != event["sender"]
            and d.user_id not in watched_by
            and not self._attention.is_watching(d.user_id, room_id)
        ]
        if not decisions:
            return
        decisions = [d for d in decisions if d.user_id in with_pushers]
        if not decisions:
            return
        by_user: dict[str, list[Pusher]] = defaultdict(list)
        for pusher in await self._pushers.pushers_for_users([d.user_id for d in decisions]):
            by_user[pusher.user_id].append(pusher)
        decisions = [d for d in decisions if by_user.get(d.user_id)]
        if not decisions:
            return
        room = await self._room_facts(room_id, str(event["sender"]))
        planned: list[tuple[Pusher, Notification, QueuedPush]] = []
        sent_at = int(event.get("origin_server_ts", 0))
        for decision in decisions:
            live = await self._live_pushers(decision.user_id, by_user[decision.user_id])
            # A pusher set after the event was sent does not get it (this
            # matters when events are looked at again after a restart).
            live = [p for p in live if p.pushkey_ts <= sent_at]
            if not live:
                continue
            notification = await self._notification(event, decision, room)
            for pusher in live:
                queued = QueuedPush(
                    pusher.user_id,
                    pusher.app_id,
                    pusher.pushkey,
                    notification.event_id,
                    position,
                    asdict(notification),
                )
                planned.append((pusher, notification, queued))
        # Written down before anything is sent; a replay finds them there.
        new = {push.key for push in await self._store.add([p[2] for p in planned])}
        for pusher, notification, queued in planned:
            if queued.key in new:
                await self._spawn(pusher, notification, queued)

    async def _live_pushers(self, user_id: str, pushers: list[Pusher]) -> list[Pusher]:
        """The pushers whose device is still signed in; the others are removed
        (signing a device out ends its pushes)."""
        devices = {d.device_id for d in await self._storage.users.list_devices(user_id)}
        live = []
        for pusher in pushers:
            if pusher.device_id is None or pusher.device_id in devices:
                live.append(pusher)
            elif await self._pushers.delete_if_unchanged(pusher):
                self.stats.pushers_removed += 1
                logger.info(
                    "pusher removed: its device is signed out",
                    extra=_pusher_context(pusher),
                )
        return live

    async def _room_facts(self, room_id: str, sender: str) -> dict[str, str]:
        state = await self._storage.events.get_current_state(
            room_id,
            [("m.room.name", ""), ("m.room.canonical_alias", ""), ("m.room.member", sender)],
        )
        facts: dict[str, str] = {}
        for key, field_name, out in (
            (("m.room.name", ""), "name", "room_name"),
            (("m.room.canonical_alias", ""), "alias", "room_alias"),
            (("m.room.member", sender), "displayname", "sender_display_name"),
        ):
            stored = state.get(key)
            value = stored.event.get("content", {}).get(field_name) if stored else None
            if isinstance(value, str) and value:
                facts[out] = value
        return facts

    async def _notification(
        self, event: dict[str, Any], decision: PushAction, room: dict[str, str]
    ) -> Notification:
        tweaks = tweaks_for_actions(decision.actions)
        is_member_event = event["type"] == "m.room.member"
        return Notification(
            event_id=str(event["event_id"]),
            room_id=str(event["room_id"]),
            event_type=str(event["type"]),
            sender=str(event["sender"]),
            content=event.get("content") or {},
            prio=priority(str(event["type"]), tweaks),
            unread=await self._unread(decision.user_id),
            tweaks=tweaks,
            sender_display_name=room.get("sender_display_name"),
            room_name=room.get("room_name"),
            room_alias=room.get("room_alias"),
            user_is_target=(event.get("state_key") == decision.user_id)
            if is_member_event
            else None,
        )

    async def _unread(self, user_id: str) -> int:
        """Unread notifying events across the user's rooms: the badge count."""
        rooms = [m.room_id for m in await self._storage.events.get_rooms_for_user(user_id)]
        counts = await self._storage.receipts.unread_counts(user_id, rooms)
        return sum(c.notifications for c in counts.values())

    # -- deliveries -------------------------------------------------------------

    async def _spawn(self, pusher: Pusher, notification: Notification, queued: QueuedPush) -> None:
        if len(self._deliveries) >= self.settings.max_pending_deliveries:
            self.stats.deliveries_dropped += 1
            await self._store.finish(queued)
            logger.warning(
                "too many pushes pending: push dropped",
                extra={
                    **_pusher_context(pusher),
                    "event_id": notification.event_id,
                    "deliveries_dropped": self.stats.deliveries_dropped,
                },
            )
            return
        task = asyncio.create_task(
            self._deliver_queued(pusher, notification, queued), name="push-delivery"
        )
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver_queued(
        self, pusher: Pusher, notification: Notification, queued: QueuedPush
    ) -> None:
        context = {**_pusher_context(pusher), "event_id": notification.event_id}
        try:
            try:
                await self._deliver(pusher, notification)
            except Exception:
                logger.exception(
                    "push delivery failed; it stays queued for the next start", extra=context
                )
                return
            try:
                await self._store.finish(queued)
            except Exception:
                logger.exception("recording a push as ended failed", extra=context)
        finally:
            self._landing(False)

    def _landing(self, sending: bool) -> None:
        """Notes whether this delivery is sending (or recording what came of
        it): stopping lets those land rather than send them again later."""
        task = asyncio.current_task()
        if task is None:
            return
        if sending:
            self._sending.add(task)
        elif task in self._sending:
            self._sending.discard(task)
            self._sending_changed.set()

    async def _let_sends_land(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_GRACE_SECONDS
        while self._sending and (left := deadline - loop.time()) > 0:
            self._sending_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sending_changed.wait(), left)

    async def _deliver(self, pusher: Pusher, notification: Notification) -> None:
        sender = self._senders.get(pusher.kind)
        context = {**_pusher_context(pusher), "event_id": notification.event_id}
        if sender is None:
            self.stats.failed += 1
            logger.warning("no sender for this kind of pusher", extra=context)
            return
        policy = self.settings.retry
        for attempt in range(1, policy.max_attempts + 1):
            if attempt > 1:
                # Removed or changed while we waited? Use what is there now.
                current = await self._pushers.get_pusher(
                    pusher.user_id, pusher.app_id, pusher.pushkey
                )
                if current is None or current.kind != pusher.kind:
                    return
                pusher = current
            self._landing(True)
            try:
                async with self._send_slots:
                    outcome = await sender.send(pusher, notification)
            except Exception as exc:
                logger.exception("push sender failed", extra=context)
                outcome = Outcome("retry", f"{type(exc).__name__}: {exc}")
            if outcome.kind == "delivered":
                self.stats.delivered += 1
                logger.debug("push delivered", extra={**context, "attempt": attempt})
                return
            if outcome.kind == "gone":
                await self._remove(pusher, outcome, context)
                return
            if outcome.kind == "failed" or attempt == policy.max_attempts:
                self.stats.failed += 1
                logger.warning(
                    "push not delivered",
                    extra={**context, "attempt": attempt, "reason": outcome.detail},
                )
                return
            delay = policy.delay(attempt, outcome.retry_after)
            self.stats.retried += 1
            logger.info(
                "push failed; retrying",
                extra={**context, "attempt": attempt, "reason": outcome.detail, "delay": delay},
            )
            self._landing(False)
            await asyncio.sleep(delay)

    async def _remove(self, pusher: Pusher, outcome: Outcome, context: dict[str, Any]) -> None:
        if await self._pushers.delete_if_unchanged(pusher):
            self.stats.pushers_removed += 1
            logger.info("pusher removed", extra={**context, "reason": outcome.detail})


def _pusher_context(pusher: Pusher) -> dict[str, Any]:
    return {
        "user_id": pusher.user_id,
        "app_id": pusher.app_id,
        "pusher_kind": pusher.kind,
        "device_id": pusher.device_id,
    }
