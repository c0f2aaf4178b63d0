"""What a client has not seen yet: the /sync response between two tokens.

This is the one place that computes a sync delta. Long-poll /sync calls it,
and the WebSocket stream will call it too, so both transports agree."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from homeserver.handlers.e2ee.device_lists import MembershipMoves
from homeserver.handlers.e2ee.sync_sections import E2eeSections, E2eeSync
from homeserver.handlers.filters import SyncFilter
from homeserver.handlers.presence import PresenceHandler
from homeserver.handlers.receipts import ReceiptHandler
from homeserver.handlers.recent_events import RecentEvents
from homeserver.handlers.room_state import RoomState
from homeserver.handlers.serialize import EventSerializer
from homeserver.handlers.tokens import Requester
from homeserver.handlers.typing import TypingHandler
from homeserver.handlers.unread_cache import UnreadCache
from homeserver.handlers.user_rooms import UserRooms
from homeserver.handlers.visibility import RoomView, Visibility
from homeserver.storage import Storage
from homeserver.storage.events import MembershipRow, StoredEvent
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import Positions
from homeserver.streams.tokens import StreamToken, page_token

STRIPPED_STATE_TYPES = (
    "m.room.create",
    "m.room.join_rules",
    "m.room.name",
    "m.room.avatar",
    "m.room.topic",
    "m.room.canonical_alias",
    "m.room.encryption",
)
MAX_TIMEOUT_MS = 60_000
# More users with new presence than this are checked against the user's rooms
# in one query rather than one by one in the memberships cache.
MAX_PRESENCE_LOOKUPS = 20
# Deltas computed at once (each holds up to two database connections).
CONCURRENT_COMPUTES = 16
# Hidden or filtered events can make a timeline scan long; stop after this many batches.
MAX_TIMELINE_SCANS = 20


@dataclass
class SyncResult:
    next_batch: StreamToken
    join: dict[str, Any] = field(default_factory=dict)
    invite: dict[str, Any] = field(default_factory=dict)
    leave: dict[str, Any] = field(default_factory=dict)
    account_data: list[dict[str, Any]] = field(default_factory=list)
    presence: list[dict[str, Any]] = field(default_factory=list)
    e2ee: E2eeSections = field(default_factory=E2eeSections)

    def is_empty(self) -> bool:
        return (
            not (self.join or self.invite or self.leave or self.account_data or self.presence)
            and self.e2ee.is_empty()
        )

    def to_json(self) -> dict[str, Any]:
        body = {
            "next_batch": self.next_batch.serialize(),
            "rooms": {"join": self.join, "invite": self.invite, "leave": self.leave, "knock": {}},
            "account_data": {"events": self.account_data},
            "presence": {"events": self.presence},
        }
        self.e2ee.add_to(body)
        return body


@dataclass(frozen=True)
class _Context:
    requester: Requester
    since: int | None  # events stream
    now: int
    since_token: StreamToken | None
    now_token: StreamToken
    filter: SyncFilter
    full_state: bool


class SyncHandler:
    def __init__(
        self,
        storage: Storage,
        positions: Positions,
        notifier: Notifier,
        visibility: Visibility,
        room_state: RoomState,
        serializer: EventSerializer,
        typing: TypingHandler,
        receipts: ReceiptHandler,
        presence: PresenceHandler,
        push_rules: Callable[[str], Awaitable[dict[str, Any]]],
        user_rooms: UserRooms,
        recent_events: RecentEvents,
        unread: UnreadCache,
        e2ee: E2eeSync,
    ) -> None:
        self._storage = storage
        self._positions = positions
        self._notifier = notifier
        self._visibility = visibility
        self._room_state = room_state
        self._serializer = serializer
        self._typing = typing
        self._receipts = receipts
        self._presence = presence
        self._push_rules = push_rules
        self._user_rooms = user_rooms
        self._recent_events = recent_events
        self._unread = unread
        self._e2ee = e2ee
        self._compute_gate = asyncio.Semaphore(CONCURRENT_COMPUTES)

    def current_token(self) -> StreamToken:
        current = self._positions.current
        return StreamToken(
            events=current,
            typing=self._typing.stream.current,
            presence=self._presence.stream.current,
            to_device=current,
        )

    async def wait_for_sync(
        self,
        requester: Requester,
        since: StreamToken | None,
        sync_filter: SyncFilter,
        *,
        full_state: bool = False,
        timeout_ms: int = 0,
        max_step: int | None = None,
        acknowledge: bool = True,
    ) -> SyncResult:
        """Computes the delta since `since`; when it is empty, waits (event-driven,
        up to the timeout) for something to arrive.

        With `acknowledge`, `since` tells that the client received the
        response it ended: its to-device messages up to there are deleted.
        (The WebSocket stream acknowledges them when the client acks a frame.)

        With `max_step`, a delta covers at most that many positions of the
        events stream, so that no room's timeline in it can be `limited` when
        `max_step` is at most the timeline limit: a client far behind gets
        everything it missed in several deltas instead of one with gaps."""
        deadline = time.monotonic() + min(max(timeout_ms, 0), MAX_TIMEOUT_MS) / 1000
        if since is not None and acknowledge:
            await self._e2ee.acknowledge(requester, since)
        if since is None or full_state:
            return await self.compute(
                requester, since, self.current_token(), sync_filter, full_state=full_state
            )
        while True:
            now = self.current_token()
            rooms = [m.room_id for m in await self._user_rooms.rooms_for_user(requester.user_id)]
            if self._nothing_since(requester.user_id, rooms, since):
                # A long poll that comes back for more: nothing to compute
                # (the device's key counts are in memory).
                result = SyncResult(next_batch=now, e2ee=await self._e2ee.idle(requester))
            else:
                result = await self._next_delta(requester, since, now, sync_filter, max_step)
                if not result.is_empty():
                    return result
                since = result.next_batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return result
            if not await self._notifier.wait(requester.user_id, rooms, now, remaining):
                # Nothing for this user happened: the empty delta up to `now`
                # stands, with no need to compute it again.
                return result
            # Woken: compute again (it may still be empty: news this user may not see).

    def _nothing_since(self, user_id: str, rooms: list[str], since: StreamToken) -> bool:
        """Whether the notifier vouches that nothing this user could see has
        happened after `since` (every change is announced there, so an empty
        delta need not be computed to know it is empty)."""
        notifier = self._notifier
        return (
            notifier.knows_since(min(since.events, since.to_device))
            and notifier.settled()
            and not notifier.has_news(user_id, rooms, since)
        )

    async def _next_delta(
        self,
        requester: Requester,
        since: StreamToken,
        now: StreamToken,
        sync_filter: SyncFilter,
        max_step: int | None,
    ) -> SyncResult:
        """The first non-empty step from `since` towards `now` (or an empty
        result reaching `now`)."""
        while True:
            upto = now
            if max_step is not None and now.events - since.events > max_step:
                upto = now.with_events(since.events + max_step)
            result = await self.compute(requester, since, upto, sync_filter)
            if not result.is_empty() or upto == now:
                return result
            since = upto

    async def compute(
        self,
        requester: Requester,
        since: StreamToken | None,
        now: StreamToken,
        sync_filter: SyncFilter,
        *,
        full_state: bool = False,
    ) -> SyncResult:
        """The delta from `since` to `now`. When one change wakes thousands of
        waiting clients, at most `CONCURRENT_COMPUTES` are computed at a time
        and the rest queue here in memory, rather than on the database's
        connection pool, where they would time out."""
        async with self._compute_gate:
            return await self._compute(requester, since, now, sync_filter, full_state=full_state)

    async def _compute(
        self,
        requester: Requester,
        since: StreamToken | None,
        now: StreamToken,
        sync_filter: SyncFilter,
        *,
        full_state: bool = False,
    ) -> SyncResult:
        ctx = _Context(
            requester,
            None if since is None else min(since.events, now.events),
            now.events,
            since,
            now,
            sync_filter,
            full_state,
        )
        result = SyncResult(next_batch=now)
        rows = await self._user_rooms.rooms_for_user(
            requester.user_id, ("join", "invite", "leave", "ban")
        )
        # Rows changed after `now` are left for the next sync.
        rows = [r for r in rows if r.stream_ordering <= ctx.now]
        result.e2ee = await self._e2ee_sections(ctx, rows)
        result.next_batch = replace(now, to_device=result.e2ee.to_device_upto)
        rows = [r for r in rows if sync_filter.rooms.allows_room(r.room_id)]
        changed_membership = {
            r.room_id for r in rows if ctx.since is None or r.stream_ordering > ctx.since
        }

        joined = [r for r in rows if r.membership == "join"]
        joined_ids = [r.room_id for r in joined]
        # Since the process started, the notifier knows which rooms changed: no
        # need to ask the database about the others. News for the user alone
        # (account data, private receipts) could concern any room: then ask.
        known = (
            ctx.since is not None
            and self._notifier.knows_since(ctx.since)
            and self._notifier.settled(ctx.now)
            and not self._notifier.user_changed_since(requester.user_id, ctx.since)
        )
        changed_rooms = (
            self._notifier.rooms_changed_since(joined_ids, ctx.since)
            if known and ctx.since is not None
            else None
        )
        # Receipts are asked for only in rooms the notifier saw a receipt in.
        receipt_rooms = (
            sorted(self._notifier.rooms_with_receipts_since(joined_ids, ctx.since))
            if known and ctx.since is not None
            else joined_ids
        )
        ephemeral = await self._ephemeral(ctx, joined_ids, receipt_rooms)
        if known:
            room_account_data: dict[str, dict[str, Any]] = {}
        else:
            result.account_data, room_account_data = await self._account_data(ctx, joined)
        await self._add_push_rules(ctx, result)
        if ctx.since is None or full_state:
            # full_state: every joined room with all its state, timelines still
            # starting at `since`.
            included = joined
        else:
            if changed_rooms is None:
                latest = set(
                    await self._storage.events.get_latest_positions(joined_ids, ctx.since, ctx.now)
                )
            else:
                latest = changed_rooms
            touched = latest | set(ephemeral) | set(room_account_data) | changed_membership
            included = [r for r in joined if r.room_id in touched]
        for row in included:
            newly = ctx.since is None or row.room_id in changed_membership
            result.join[row.room_id] = await self._joined_room(ctx, row, newly_joined=newly)
        counts = await self._unread.unread_counts(requester.user_id, list(result.join))
        for room_id, room in result.join.items():
            room["ephemeral"]["events"] = ephemeral.get(room_id, [])
            room["account_data"] = room_account_data.get(room_id, {"events": []})
            unread = counts.get(room_id)
            if unread is not None:
                room["unread_notifications"] = {
                    "notification_count": unread.notifications,
                    "highlight_count": unread.highlights,
                }

        for row in rows:
            if row.membership == "invite" and row.room_id in changed_membership:
                result.invite[row.room_id] = await self._invited_room(row)
            elif row.membership in ("leave", "ban") and row.room_id in changed_membership:
                if ctx.since is None and not sync_filter.include_leave:
                    continue
                result.leave[row.room_id] = await self._left_room(ctx, row)
        result.presence = await self._presence_events(
            ctx, joined_ids, self._new_room_mates(ctx, result, changed_membership)
        )
        return result

    async def _e2ee_sections(self, ctx: _Context, rows: list[MembershipRow]) -> E2eeSections:
        """To-device messages, device-list changes and key counts (over all
        the user's rooms: room filters do not hide whose keys changed)."""
        moved = [r for r in rows if ctx.since is not None and r.stream_ordering > ctx.since]
        moves = MembershipMoves(
            joined_rooms=[r.room_id for r in moved if r.membership == "join"],
            left_rooms=[r.room_id for r in moved if r.membership in ("leave", "ban")],
        )
        joined = [r.room_id for r in rows if r.membership == "join"]
        return await self._e2ee.sections(
            ctx.requester, ctx.since_token, ctx.now_token, joined, moves
        )

    @staticmethod
    def _new_room_mates(
        ctx: _Context, result: SyncResult, changed_membership: set[str]
    ) -> set[str]:
        """Users this user has just come to share a room with: everyone in a
        room they joined in the range, and whoever joined one of their rooms.
        Their current presence is sent even if it has not changed."""
        if ctx.since is None:
            return set()
        mates: set[str] = set()
        for room_id, room in result.join.items():
            events = room["timeline"]["events"] + room["state"]["events"]
            if room_id not in changed_membership:
                # Only the timeline can hold someone joining an old room.
                events = room["timeline"]["events"]
            for event in events:
                if (
                    event["type"] == "m.room.member"
                    and event["content"].get("membership") == "join"
                ):
                    mates.add(event["state_key"])
        mates.discard(ctx.requester.user_id)
        return mates

    async def _ephemeral(
        self, ctx: _Context, room_ids: list[str], receipt_rooms: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Typing and receipt events per room, new since the token."""
        events: dict[str, list[dict[str, Any]]] = {}
        allowed = ctx.filter.ephemeral.allows_type_and_sender
        since_typing = ctx.since_token.typing if ctx.since_token else None
        if allowed("m.typing", None):
            for room_id, event in self._typing.events_since(room_ids, since_typing).items():
                events.setdefault(room_id, []).append(event)
        if allowed("m.receipt", None) and receipt_rooms:
            receipts = await self._receipts.receipt_events(
                ctx.requester.user_id, receipt_rooms, ctx.since, ctx.now
            )
            for room_id, event in receipts.items():
                events.setdefault(room_id, []).append(event)
        return events

    async def _presence_events(
        self, ctx: _Context, joined_ids: list[str], new_mates: set[str]
    ) -> list[dict[str, Any]]:
        if not ctx.filter.presence.allows_type_and_sender("m.presence", None):
            return []
        since = ctx.since_token.presence if ctx.since_token else None
        events = self._presence.current(sorted(new_mates)) if new_mates else []
        if since is not None and since >= ctx.now_token.presence:
            return events
        changed = self._presence.users_changed_since(since) - new_mates
        if not changed:
            return events
        visible = await self._sharing_a_room(ctx.requester.user_id, joined_ids, changed)
        return events + self._presence.changed_since(since, sorted(visible))

    async def _sharing_a_room(
        self, user_id: str, joined_ids: list[str], candidates: set[str]
    ) -> set[str]:
        """Those of `candidates` who share a joined room with the user (who sees
        their own presence too). A few (an incremental sync after a presence
        change) are looked up in the memberships cache; many (an initial sync
        sees everyone's) in one query."""
        if len(candidates) > MAX_PRESENCE_LOOKUPS:
            shared = await self._storage.events.get_users_sharing_rooms(joined_ids)
            shared.add(user_id)
            return candidates & shared
        joined = set(joined_ids)
        visible = set()
        for other in candidates:
            if other == user_id or any(
                row.room_id in joined for row in await self._user_rooms.rooms_for_user(other)
            ):
                visible.add(other)
        return visible

    # -- account data ------------------------------------------------------------

    async def _add_push_rules(self, ctx: _Context, result: SyncResult) -> None:
        """Clients read push rules from the `m.push_rules` account data of an
        initial sync; a user who never changed a rule has none stored, so the
        effective (default) rules are sent."""
        if ctx.since is not None or any(e["type"] == "m.push_rules" for e in result.account_data):
            return
        if ctx.filter.account_data.allows_type_and_sender("m.push_rules", None):
            rules = await self._push_rules(ctx.requester.user_id)
            result.account_data.append({"type": "m.push_rules", "content": {"global": rules}})

    async def _account_data(
        self, ctx: _Context, joined: list[MembershipRow]
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """Global account data and per-room account data (of joined rooms)
        changed in range, from one query."""
        items = await self._storage.account_data.changed_since(
            ctx.requester.user_id, ctx.since or 0, ctx.now
        )
        joined_ids = {r.room_id for r in joined}
        global_data = []
        per_room: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            entry = {"type": item.type, "content": item.content}
            if item.room_id == "":
                if ctx.filter.account_data.allows_type_and_sender(item.type, None):
                    global_data.append(entry)
            elif item.room_id in joined_ids and ctx.filter.room_account_data.allows_type_and_sender(
                item.type, None
            ):
                per_room.setdefault(item.room_id, []).append(entry)
        return global_data, {room_id: {"events": events} for room_id, events in per_room.items()}

    # -- rooms -------------------------------------------------------------------

    @staticmethod
    def _empty_joined_room() -> dict[str, Any]:
        return {
            "timeline": {"events": [], "limited": False},
            "state": {"events": []},
            "account_data": {"events": []},
            "ephemeral": {"events": []},
            "unread_notifications": {"notification_count": 0, "highlight_count": 0},
        }

    async def _timeline(
        self, ctx: _Context, room_id: str, view: RoomView | None, after: int | None, upto: int
    ) -> tuple[list[StoredEvent], bool]:
        """The newest visible events in (after, upto] (up to the filter's limit,
        oldest first) and whether older ones in the range were left out."""
        limit = ctx.filter.timeline.timeline_limit()
        picked: list[StoredEvent] = []
        cursor = upto
        for _ in range(MAX_TIMELINE_SCANS):
            batch = await self._recent_events.room_events(
                room_id, after=after, upto=cursor, limit=limit + 1
            )
            for event in batch:
                if len(picked) == limit:
                    # An older event of the range is left out.
                    picked.reverse()
                    return picked, True
                visible = view is None or view.can_see(event)
                if visible and ctx.filter.timeline.allows(event):
                    picked.append(event)
            if len(batch) <= limit:
                break
            cursor = batch[-1].stream_ordering - 1
        else:
            picked.reverse()
            return picked, True
        picked.reverse()
        return picked, False

    async def _state_events(self, ctx: _Context, ids: list[str]) -> list[dict[str, Any]]:
        found = await self._storage.events.get_events(ids)
        events = sorted(found.values(), key=lambda e: e.stream_ordering)
        events = [e for e in events if ctx.filter.state.allows_type_and_sender(e.type, None)]
        return await self._serializer.serialize(
            events,
            user_id=ctx.requester.user_id,
            device_id=ctx.requester.device_id,
            include_room_id=False,
        )

    async def _joined_room(
        self, ctx: _Context, row: MembershipRow, *, newly_joined: bool
    ) -> dict[str, Any]:
        room_id = row.room_id
        incremental = ctx.since is not None and not newly_joined
        view: RoomView | None = None
        if not (incremental and ctx.since is not None and row.stream_ordering <= ctx.since):
            # Otherwise the user has been joined throughout the range, so every
            # event in it is visible to them: no history to look up.
            view = await self._visibility.room_view(room_id, ctx.requester.user_id)
        after = ctx.since if incremental else None
        timeline, limited = await self._timeline(ctx, room_id, view, after, ctx.now)
        start = timeline[0].stream_ordering - 1 if timeline else ctx.now

        if incremental and not limited and not ctx.full_state:
            state_ids: list[str] = []
        else:
            at_start = await self._room_state.state_ids_at(room_id, start)
            if incremental and not ctx.full_state and ctx.since is not None:
                before = await self._room_state.state_ids_at(room_id, ctx.since)
                state_ids = [eid for key, eid in at_start.items() if before.get(key) != eid]
            else:
                state_ids = list(at_start.values())
        room = self._empty_joined_room()
        room["timeline"] = {
            "events": await self._serializer.serialize(
                timeline,
                user_id=ctx.requester.user_id,
                device_id=ctx.requester.device_id,
                include_room_id=False,
            ),
            "limited": limited,
            "prev_batch": page_token(start),
        }
        room["state"] = {"events": await self._state_events(ctx, state_ids)}
        if not incremental or any(e.type == "m.room.member" for e in timeline):
            room["summary"] = await self._summary(room_id, ctx.requester.user_id)
        return room

    async def _summary(self, room_id: str, user_id: str) -> dict[str, Any]:
        members = await self._storage.events.get_room_members(room_id, ("join", "invite"))
        joined = sorted(m.user_id for m in members if m.membership == "join")
        invited = sorted(m.user_id for m in members if m.membership == "invite")
        heroes = [u for u in joined + invited if u != user_id][:5]
        return {
            "m.heroes": heroes,
            "m.joined_member_count": len(joined),
            "m.invited_member_count": len(invited),
        }

    async def _invited_room(self, row: MembershipRow) -> dict[str, Any]:
        state = await self._storage.events.get_current_state(
            row.room_id, [(t, "") for t in STRIPPED_STATE_TYPES]
        )
        invite = await self._storage.events.get_event(row.event_id)
        stripped = [
            {
                "type": e.type,
                "state_key": e.state_key,
                "content": e.event["content"],
                "sender": e.event["sender"],
            }
            for e in [*state.values(), *([invite] if invite else [])]
        ]
        if not state and invite is not None:
            # A room of another server: what its server told us of it with the invite.
            unsigned = invite.event.get("unsigned")
            told = unsigned.get("invite_room_state") if isinstance(unsigned, dict) else None
            if isinstance(told, list):
                stripped = [
                    e
                    for e in told
                    if isinstance(e, dict)
                    and not (e.get("type") == "m.room.member" and e.get("state_key") == row.user_id)
                ] + stripped
        return {"invite_state": {"events": stripped}}

    async def _left_room(self, ctx: _Context, row: MembershipRow) -> dict[str, Any]:
        view = await self._visibility.room_view(row.room_id, ctx.requester.user_id)
        timeline, limited = await self._timeline(
            ctx, row.room_id, view, ctx.since, row.stream_ordering
        )
        start = timeline[0].stream_ordering - 1 if timeline else row.stream_ordering
        state = await self._room_state.state_ids_at(row.room_id, start)
        if ctx.since is not None:
            before = await self._room_state.state_ids_at(row.room_id, ctx.since)
            state_ids = [eid for key, eid in state.items() if before.get(key) != eid]
        else:
            state_ids = list(state.values())
        return {
            "timeline": {
                "events": await self._serializer.serialize(
                    timeline,
                    user_id=ctx.requester.user_id,
                    device_id=ctx.requester.device_id,
                    include_room_id=False,
                ),
                "limited": limited,
                "prev_batch": page_token(start),
            },
            "state": {"events": await self._state_events(ctx, state_ids)},
            "account_data": {"events": []},
        }
