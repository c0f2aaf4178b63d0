"""Who may see which events of a room (m.room.history_visibility), following
the spec's rules: world_readable to everyone; otherwise to users who were joined
at the event, or, when `shared`, who joined at any point after it, or, when
`invited`, who were invited at it. Users always see their own membership events."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from homeserver.errors import forbidden
from homeserver.storage import Storage
from homeserver.storage.events import StateValue, StoredEvent


@dataclass(frozen=True)
class _Timeline:
    positions: list[int]
    values: list[str]
    # The DAG depth of each value's event (empty when not known).
    depths: list[int] = field(default_factory=list)

    def at(self, position: int, default: str, *, inclusive: bool) -> str:
        index = bisect_right(self.positions, position if inclusive else position - 1)
        return self.values[index - 1] if index else default

    def before_depth(self, depth: int, default: str) -> str:
        """The value of the deepest event shallower than `depth`."""
        best: tuple[int, int] | None = None
        for index, at in enumerate(self.depths):
            if at < depth and (best is None or at >= best[0]):
                best = (at, index)
        return self.values[best[1]] if best is not None else default


@dataclass(frozen=True)
class RoomView:
    """A user's history in one room: enough to decide visibility of any event."""

    user_id: str
    memberships: _Timeline
    visibility: _Timeline

    @property
    def ever_member(self) -> bool:
        return bool(self.memberships.values)

    @property
    def current_membership(self) -> str | None:
        return self.memberships.values[-1] if self.memberships.values else None

    def can_see(self, event: StoredEvent) -> bool:
        if event.type == "m.room.member" and event.state_key == self.user_id:
            return True
        if event.stream_ordering < 0:
            # Backfilled history sits below every position stored live, while
            # the state handed over on joining (history visibility among it)
            # sits above it: the setting at such an event is the one of the
            # deepest setting shallower than it in the room's DAG.
            depth = event.event.get("depth")
            if isinstance(depth, int):
                visibility = self.visibility.before_depth(depth, "shared")
                return self._allows(event.stream_ordering, visibility)
        return self.can_see_position(event.stream_ordering)

    def can_see_position(self, position: int) -> bool:
        """Whether the user may see an event at `position` (other than their
        own membership events, which they always see)."""
        return self._allows(position, self.visibility.at(position, "shared", inclusive=False))

    def _allows(self, position: int, visibility: str) -> bool:
        if visibility == "world_readable":
            return True
        membership = self.memberships.at(position, "leave", inclusive=True)
        if membership == "join":
            return True
        if visibility == "shared":
            later = bisect_right(self.memberships.positions, position)
            return "join" in self.memberships.values[later:]
        return visibility == "invited" and membership == "invite"

    def visible_ranges(self) -> list[tuple[int | None, int | None]]:
        """The positions `can_see_position` allows, as [lo, hi) ranges (None:
        unbounded), oldest first. The answer can only change where a
        membership changes or just after the visibility changes (an
        m.room.history_visibility event is judged by the setting before it),
        so one position of each stretch between those decides the stretch."""
        starts = sorted(
            set(self.memberships.positions) | {p + 1 for p in self.visibility.positions}
        )
        stretches = list(zip([None, *starts], [*starts, None], strict=True))
        ranges: list[tuple[int | None, int | None]] = []
        for lo, hi in stretches:
            probe = lo if lo is not None else (hi - 1 if hi is not None else 0)
            if not self.can_see_position(probe):
                continue
            if ranges and ranges[-1][1] == lo:
                ranges[-1] = (ranges[-1][0], hi)
            else:
                ranges.append((lo, hi))
        return ranges

    def last_visible_position(self) -> int | None:
        """Where a user who left stops seeing the room (None while joined)."""
        if self.current_membership in ("join", None):
            return None
        return self.memberships.positions[-1]


def _view(user_id: str, members: Sequence[StateValue], history: Sequence[StateValue]) -> RoomView:
    return RoomView(
        user_id,
        _Timeline(
            [m.position for m in members],
            [str(m.content.get("membership")) for m in members],
            [m.depth for m in members],
        ),
        _Timeline(
            [h.position for h in history],
            [str(h.content.get("history_visibility")) for h in history],
            [h.depth for h in history],
        ),
    )


class Visibility:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def room_view(self, room_id: str, user_id: str) -> RoomView:
        members = await self._storage.events.get_state_history(room_id, "m.room.member", user_id)
        history = await self._storage.events.get_state_history(
            room_id, "m.room.history_visibility", ""
        )
        return _view(user_id, members, history)

    async def room_views(self, room_ids: Sequence[str], user_id: str) -> dict[str, RoomView]:
        """`room_view` of many rooms, in two queries."""
        events = self._storage.events
        members = await events.get_state_histories(room_ids, "m.room.member", user_id)
        history = await events.get_state_histories(room_ids, "m.room.history_visibility", "")
        return {room_id: _view(user_id, members[room_id], history[room_id]) for room_id in room_ids}

    async def member_views(self, room_id: str, user_ids: Sequence[str]) -> list[RoomView]:
        """`room_view` of many users of one room, in two queries."""
        events = self._storage.events
        members = await events.get_member_histories(room_id, user_ids)
        history = await events.get_state_history(room_id, "m.room.history_visibility", "")
        return [_view(user_id, members[user_id], history) for user_id in user_ids]

    async def filter_events(
        self, room_id: str, user_id: str, events: Sequence[StoredEvent]
    ) -> list[StoredEvent]:
        view = await self.room_view(room_id, user_id)
        return [e for e in events if view.can_see(e)]

    async def require_reader(self, room_id: str, user_id: str) -> RoomView:
        """The user's view of the room, or 403 when they may read nothing of it:
        neither a member now or before, nor a world-readable room."""
        view = await self.room_view(room_id, user_id)
        if view.ever_member and view.current_membership != "invite":
            return view
        if view.visibility.values and view.visibility.values[-1] == "world_readable":
            return view
        raise forbidden("You are not a member of this room")
