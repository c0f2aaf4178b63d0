"""Push notifications: which events notify a user, decided by their push rules.

Nothing here performs I/O; the caller gathers the room's facts into a `PushContext`.
"""

from homeserver.push.evaluator import (
    PushContext,
    PushDecision,
    evaluate,
    room_is_muted,
)

__all__ = ["PushContext", "PushDecision", "evaluate", "room_is_muted"]
