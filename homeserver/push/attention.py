"""Which rooms users are looking at right now, so that nobody is pushed about a
message that is already in front of their eyes.

Clients connected to the WebSocket sync stream report, with a `focus` frame,
the room they show and whether their window is visible and focused. A user
with any such focused connection on a room gets no push for it; all other
notifications go out as usual. The registry lives in memory, keyed by
connection, and a connection's report is forgotten when it closes (the
stream's heartbeats close dead connections)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeserver.errors import MatrixError

MAX_ROOM_ID_LENGTH: Final = 255


@dataclass(frozen=True)
class Focus:
    device_id: str
    room_id: str | None  # the room the client shows, if any
    focused: bool  # the window is visible and has focus


def parse_focus_frame(frame: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(room_id, focused) from a `focus` frame, or MatrixError (400)."""
    room_id = frame.get("room_id")
    focused = frame.get("focused")
    if room_id is not None and (
        not isinstance(room_id, str)
        or not room_id.startswith("!")
        or len(room_id) > MAX_ROOM_ID_LENGTH
    ):
        raise MatrixError(400, "M_INVALID_PARAM", "focus.room_id must be a room id or null")
    if not isinstance(focused, bool):
        raise MatrixError(400, "M_BAD_JSON", "focus.focused must be true or false")
    return room_id, focused


class AttentionRegistry:
    def __init__(self) -> None:
        self._by_user: dict[str, dict[Hashable, Focus]] = defaultdict(dict)
        self._user_of: dict[Hashable, str] = {}
        # room -> user -> how many of the user's connections watch it (focused)
        self._watching: dict[str, dict[str, int]] = {}

    def report(
        self,
        connection: Hashable,
        user_id: str,
        device_id: str,
        room_id: str | None,
        focused: bool,
    ) -> None:
        connections = self._by_user[user_id]
        self._unwatch(user_id, connections.get(connection))
        focus = Focus(device_id, room_id, focused)
        connections[connection] = focus
        self._user_of[connection] = user_id
        if focused and room_id is not None:
            users = self._watching.setdefault(room_id, {})
            users[user_id] = users.get(user_id, 0) + 1

    def _unwatch(self, user_id: str, focus: Focus | None) -> None:
        if focus is None or not focus.focused or focus.room_id is None:
            return
        users = self._watching[focus.room_id]
        users[user_id] -= 1
        if not users[user_id]:
            del users[user_id]
            if not users:
                del self._watching[focus.room_id]

    def on_focus_frame(
        self, connection: Hashable, user_id: str, device_id: str, frame: Mapping[str, Any]
    ) -> None:
        """A `focus` frame from a stream connection (MatrixError if malformed)."""
        room_id, focused = parse_focus_frame(frame)
        self.report(connection, user_id, device_id, room_id, focused)

    def forget(self, connection: Hashable) -> None:
        """The connection closed."""
        user_id = self._user_of.pop(connection, None)
        if user_id is None:
            return
        connections = self._by_user.get(user_id)
        if connections is not None:
            self._unwatch(user_id, connections.pop(connection, None))
            if not connections:
                del self._by_user[user_id]

    def is_watching(self, user_id: str, room_id: str) -> bool:
        """Whether one of the user's clients shows the room, focused."""
        return user_id in self._watching.get(room_id, ())

    def watchers(self, room_id: str) -> frozenset[str]:
        """The users with a client showing the room, focused, right now."""
        users = self._watching.get(room_id)
        return frozenset(users) if users else frozenset()
