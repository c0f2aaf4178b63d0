"""Whether another server may see a room's events: it has a user joined to
the room, or the room's history is world readable."""

from __future__ import annotations

from federation.server_acl import check_room_allows
from homeserver.errors import MatrixError
from homeserver.events.identifiers import server_name_of
from homeserver.server import HomeServer


def not_in_room() -> MatrixError:
    return MatrixError(403, "M_FORBIDDEN", "Your server is not in this room")


async def server_in_room(homeserver: HomeServer, room_id: str, server_name: str) -> bool:
    members = await homeserver.storage.events.get_joined_member_contents(room_id)
    return any(server_name_of(user_id) == server_name for user_id in members)


async def check_server_may_see(homeserver: HomeServer, room_id: str, server_name: str) -> None:
    """403 M_FORBIDDEN unless `server_name` may read the room's events."""
    await check_room_allows(homeserver, room_id, server_name)
    if await server_in_room(homeserver, room_id, server_name):
        return
    state = await homeserver.storage.events.get_current_state(room_id)
    visibility = state.get(("m.room.history_visibility", ""))
    if visibility is not None and visibility.event["content"].get("history_visibility") == (
        "world_readable"
    ):
        return
    raise not_in_room()
