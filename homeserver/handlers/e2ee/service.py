"""The E2EE handlers, wired together once (the server holds one of these)."""

from __future__ import annotations

from homeserver.handlers.e2ee.cross_signing import CrossSigning
from homeserver.handlers.e2ee.device_keys import DeviceKeys
from homeserver.handlers.e2ee.device_lists import DeviceListDelta, DeviceLists, MembershipMoves
from homeserver.handlers.e2ee.housekeeping import ToDeviceHousekeeping
from homeserver.handlers.e2ee.key_backup import KeyBackup
from homeserver.handlers.e2ee.sync_sections import E2eeSync
from homeserver.handlers.e2ee.to_device import ToDevice
from homeserver.handlers.user_rooms import UserRooms
from homeserver.storage import Storage
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import Positions


class E2ee:
    def __init__(
        self,
        storage: Storage,
        positions: Positions,
        notifier: Notifier,
        user_rooms: UserRooms,
        server_name: str,
    ) -> None:
        self.device_lists = DeviceLists(storage, positions, notifier, user_rooms)
        self.device_keys = DeviceKeys(storage, self.device_lists, server_name)
        self.cross_signing = CrossSigning(storage, self.device_lists, self.device_keys)
        self.to_device = ToDevice(storage, positions, notifier, server_name)
        self.key_backup = KeyBackup(storage)
        self.sync = E2eeSync(self.to_device, self.device_lists, self.device_keys)
        self.housekeeping = ToDeviceHousekeeping(storage)
        self._storage = storage
        self._user_rooms = user_rooms
        # However a device goes (deleted, signed out, the account closed), its
        # keys and inbox go with it and whoever tracks the user hears of it.
        storage.users.add_devices_removed_listener(self._devices_removed)

    async def _devices_removed(self, user_id: str, device_ids: list[str]) -> None:
        await self.to_device.devices_removed(user_id, device_ids)
        await self.device_keys.devices_removed(user_id, device_ids)

    async def account_closed(self, user_id: str) -> None:
        """A deactivated account keeps no keys: cross-signing keys, backups,
        whatever its devices left behind, its inbox; whoever tracks its
        devices hears that they changed."""
        await self._storage.e2ee_keys.erase_user(user_id)
        await self._storage.key_backup.erase_user(user_id)
        await self.to_device.account_closed(user_id)
        await self.device_keys.account_closed(user_id)

    async def changes_between(self, user_id: str, after: int, upto: int) -> DeviceListDelta:
        """GET /keys/changes: whose keys the user must fetch again, and whom
        they no longer share a room with, between two sync positions."""
        joined = [m.room_id for m in await self._user_rooms.rooms_for_user(user_id)]
        final: dict[str, str] = {}
        for row in await self._storage.events.get_membership_changes_for_user(user_id, after, upto):
            final[row.room_id] = row.membership
        moves = MembershipMoves(
            joined_rooms=[r for r, m in final.items() if m == "join" and r in joined],
            left_rooms=[r for r, m in final.items() if m in ("leave", "ban")],
        )
        return await self.device_lists.delta(user_id, joined, moves, after, max(after, upto))
