"""Sync and pagination tokens.

A sync token is the tuple of positions a client has seen, one per stream:
`s<events>_<typing>_<presence>_<to_device>`. The events stream is durable and
shared by everything persisted (room events, account data, receipts,
to-device messages, device-list changes); the typing and presence streams live
in memory. `to_device` is a position of the events stream too: how far the
device's to-device inbox has been delivered, which can lag behind `events`
when a sync hands out only part of a full inbox. Tokens from before it existed
parse with 0 there (the inbox from its start).
Tokens are opaque to clients; unknown trailing fields are ignored so that new
streams can be added without invalidating tokens clients hold."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from homeserver.errors import MatrixError

_SYNC_TOKEN = re.compile(r"^s([0-9]{1,18})((?:_[0-9]{1,18})*)$")
# Below every stream position (backfilled history counts down from 0).
OLDEST_POSITION = -(10**18)
_PAGE_TOKEN = re.compile(r"^p(-?[0-9]{1,18})$")


@dataclass(frozen=True)
class StreamToken:
    events: int = 0
    typing: int = 0
    presence: int = 0
    to_device: int = 0

    def serialize(self) -> str:
        return f"s{self.events}_{self.typing}_{self.presence}_{self.to_device}"

    @classmethod
    def parse(cls, text: str) -> StreamToken:
        match = _SYNC_TOKEN.match(text)
        if match is None:
            raise MatrixError(400, "M_INVALID_PARAM", f"Invalid stream token: {text[:64]!r}")
        rest = [int(part) for part in match.group(2).split("_")[1:]] + [0, 0, 0]
        return cls(events=int(match.group(1)), typing=rest[0], presence=rest[1], to_device=rest[2])

    def is_after(self, other: StreamToken) -> bool:
        """Whether any stream has moved past `other`."""
        return (
            self.events > other.events
            or self.typing > other.typing
            or self.presence > other.presence
            or self.to_device > other.to_device
        )

    def merged(self, other: StreamToken) -> StreamToken:
        """The newest position of each stream."""
        return StreamToken(
            max(self.events, other.events),
            max(self.typing, other.typing),
            max(self.presence, other.presence),
            max(self.to_device, other.to_device),
        )

    def with_events(self, position: int) -> StreamToken:
        return replace(self, events=position)


def page_token(position: int) -> str:
    """A /messages pagination token: the boundary between two events. Events
    with a stream position <= the token's are 'before' it. Negative for
    history backfilled from other servers, which lies below every event
    stored live."""
    return f"p{position}"


def parse_pagination_token(text: str) -> int:
    """Accepts page tokens and sync tokens (a sync's next_batch/prev_batch may be
    used as `from`), returning the event-stream position."""
    match = _PAGE_TOKEN.match(text)
    if match is not None:
        return int(match.group(1))
    return StreamToken.parse(text).events
