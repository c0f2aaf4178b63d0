"""Push notifications: which events notify a user, decided by their push rules
(the pure evaluator exported here: no I/O, the caller gathers the room's facts
into a `PushContext`), and their delivery to the user's pushers (`service.py`
wires the rest of the package: rules, pushers, dispatcher, senders).
"""

from homeserver.push.evaluator import (
    PushContext,
    PushDecision,
    evaluate,
    room_is_muted,
)

__all__ = ["PushContext", "PushDecision", "evaluate", "room_is_muted"]
