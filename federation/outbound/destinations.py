"""Which servers an event of a room goes to: every server with a user joined
to the room, and the server of a membership event's target, except us."""

from __future__ import annotations

from typing import Any

from homeserver.events.identifiers import server_name_of
from homeserver.server import HomeServer


async def destinations_for(
    homeserver: HomeServer, room_id: str, own_name: str, event: dict[str, Any] | None = None
) -> list[str]:
    # The room's cached current state: no query per event sent.
    room = await homeserver.sender.current_room(room_id)
    members = room.joined_members() if room is not None else {}
    servers = {server_name_of(user_id) for user_id in members}
    if event is not None and event.get("type") == "m.room.member":
        target = event.get("state_key")
        if isinstance(target, str) and ":" in target:
            servers.add(server_name_of(target))
    servers.discard(own_name)
    return sorted(servers)
