"""Who must hear that a user's devices changed, and what a user has to hear:
sync's `device_lists.changed` / `left` and GET /keys/changes.

A change (a device signed in with keys or signed out, new cross-signing keys or
signatures) is written at a position of the global stream and announced to the
user and everyone sharing a room with them. A user's `changed` list between two
positions is whoever changed and shares a room with them, plus whoever newly
shares one (they have to fetch those keys); `left` is whoever shared a room
with them and no longer does."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from homeserver.handlers.e2ee.remote import DeviceListChange, DeviceListListener
from homeserver.handlers.user_rooms import UserRooms
from homeserver.storage import Storage
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import Positions

logger = logging.getLogger(__name__)


@dataclass
class DeviceListDelta:
    changed: set[str] = field(default_factory=set)
    left: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class MembershipMoves:
    """The user's own membership changes in the range."""

    joined_rooms: Sequence[str]  # rooms the user joined
    left_rooms: Sequence[str]  # rooms the user left (or was removed from)


class DeviceLists:
    def __init__(
        self,
        storage: Storage,
        positions: Positions,
        notifier: Notifier,
        user_rooms: UserRooms,
    ) -> None:
        self._storage = storage
        self._positions = positions
        self._notifier = notifier
        self._user_rooms = user_rooms
        self._listeners: list[DeviceListListener] = []

    def add_listener(self, listener: DeviceListListener) -> None:
        """Called after each change is written (federation tells other servers)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: DeviceListListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def mark_changed(
        self,
        user_id: str,
        device_ids: Sequence[str] = (),
        *,
        deleted: bool = False,
        cross_signing: bool = False,
    ) -> None:
        """The user's devices or cross-signing keys changed (also called for
        other servers' users when their server tells us)."""
        rooms = [m.room_id for m in await self._user_rooms.rooms_for_user(user_id)]
        audience = await self._storage.events.get_users_sharing_rooms(rooms)
        audience.add(user_id)
        store = self._storage.e2ee_keys
        previous = await store.get_device_list_position(user_id)
        async with self._positions.allocate() as position:
            await store.mark_device_list_changed(user_id, position)
        self._notifier.notify_device_lists(sorted(audience), position)
        change = DeviceListChange(
            user_id, position, previous, tuple(device_ids), deleted, cross_signing
        )
        for listener in self._listeners:
            try:
                await listener(change)
            except Exception:
                logger.exception("device list listener failed", extra={"user_id": user_id})

    async def delta(
        self,
        user_id: str,
        joined_rooms: Sequence[str],
        moves: MembershipMoves,
        after: int,
        upto: int,
    ) -> DeviceListDelta:
        """What `user_id` (now joined to `joined_rooms`) must hear about the
        range (after, upto]."""
        delta = DeviceListDelta()
        notifier = self._notifier
        vouched = notifier.knows_since(after) and notifier.settled(upto)
        if not vouched or notifier.device_lists_position(user_id) > after:
            delta.changed = await self._storage.e2ee_keys.changed_users_sharing(
                user_id, joined_rooms, after, upto
            )
        newly_joined = set(moves.joined_rooms)
        # Rooms whose members came or went: those the user joined or left, and
        # (as far as the notifier says) the others with a membership event.
        others = [
            r
            for r in joined_rooms
            if r not in newly_joined
            and (not vouched or notifier.room_membership_position(r) > after)
        ]
        arrivals: set[str] = set()
        departures: set[str] = set()
        for _room, member, membership in await self._storage.e2ee_keys.membership_changes(
            others, after, upto
        ):
            if membership == "join":
                arrivals.add(member)
            elif membership in ("leave", "ban"):
                departures.add(member)
        for room_id in newly_joined:
            arrivals.update(
                m.user_id for m in await self._storage.events.get_room_members(room_id, ("join",))
            )
        for room_id in moves.left_rooms:
            departures.update(
                m.user_id for m in await self._storage.events.get_room_members(room_id, ("join",))
            )
        arrivals.discard(user_id)
        departures.discard(user_id)
        if arrivals or departures:
            sharing = await self._storage.events.get_users_sharing_rooms(joined_rooms)
            delta.changed |= arrivals & sharing
            delta.left = departures - sharing
        delta.changed -= delta.left
        return delta
