"""State resolution v2, and its room version 12 update, as a pure function.

Nothing here performs I/O: the caller hands over the state sets to merge and every event
they and their auth chains contain.
"""

from homeserver.events.state_res.graph import EventMap, StateIds, auth_event_ids
from homeserver.events.state_res.ordering import is_power_event
from homeserver.events.state_res.resolve import resolve_state, separate

__all__ = ["EventMap", "StateIds", "auth_event_ids", "is_power_event", "resolve_state", "separate"]
