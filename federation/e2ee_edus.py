"""The E2EE EDUs, both ways.

Out: when one of our users' devices or cross-signing keys change, an
`m.device_list_update` per device (or an `m.signing_key_update`) goes to
every server sharing a room with them, through the persisted outbound queue;
our users' to-device messages to other servers' users go out as one
`m.direct_to_device` per server (the handlers' `RemoteToDevice` seam).

In: updates about other servers' users (from their own server only) update
the cached device lists (`RemoteKeys`) and show up in our users'
`device_lists.changed`; to-device messages land in our devices' inboxes, once
per `message_id`."""

from __future__ import annotations

import logging
from typing import Any

from federation.e2ee_remote import RemoteKeys
from federation.inbound_edus import EduHandler
from federation.outbound.destinations import destinations_for
from federation.outbound.queue import OutboundQueues
from homeserver.errors import MatrixError
from homeserver.events.identifiers import server_name_of
from homeserver.handlers.e2ee.remote import DeviceListChange
from homeserver.server import HomeServer

logger = logging.getLogger(__name__)

DEVICE_LIST_UPDATE = "m.device_list_update"
SIGNING_KEY_UPDATE = "m.signing_key_update"
DIRECT_TO_DEVICE = "m.direct_to_device"
MAX_MESSAGE_ID_LENGTH = 32


def _is_users_of(user_id: object, origin: str) -> bool:
    return (
        isinstance(user_id, str)
        and user_id.startswith("@")
        and ":" in user_id
        and server_name_of(user_id) == origin
    )


class OutboundE2ee:
    """Our users' device list changes and to-device messages, queued for
    the servers that must hear of them."""

    def __init__(self, homeserver: HomeServer, queues: OutboundQueues) -> None:
        self._hs = homeserver
        self._queues = queues
        self._name = homeserver.server_name

    def start(self) -> None:
        e2ee = self._hs.e2ee
        e2ee.device_lists.add_listener(self.on_device_list_change)
        e2ee.to_device.remote = self

    def stop(self) -> None:
        e2ee = self._hs.e2ee
        e2ee.device_lists.remove_listener(self.on_device_list_change)
        e2ee.to_device.remote = None

    async def _servers_sharing_rooms(self, user_id: str) -> list[str]:
        servers: set[str] = set()
        for membership in await self._hs.user_rooms.rooms_for_user(user_id):
            servers.update(await destinations_for(self._hs, membership.room_id, self._name))
        return sorted(servers)

    async def on_device_list_change(self, change: DeviceListChange) -> None:
        user_id = change.user_id
        if server_name_of(user_id) != self._name:
            return
        destinations = await self._servers_sharing_rooms(user_id)
        if not destinations:
            return
        device_keys = self._hs.e2ee.device_keys
        if change.device_ids:
            current = await device_keys.local_query(
                {user_id: list(change.device_ids)}, None, with_names=False
            )
            found = current["device_keys"].get(user_id, {})
            known = {d.device_id for d in await self._hs.storage.users.list_devices(user_id)}
            for device_id in change.device_ids:
                if device_id not in known and device_id not in found and not change.deleted:
                    continue  # a signed key id that is no device (a cross-signing key)
                content: dict[str, Any] = {
                    "user_id": user_id,
                    "device_id": device_id,
                    "stream_id": change.stream_id,
                    "prev_id": [] if change.prev_id is None else [change.prev_id],
                }
                if change.deleted or device_id not in found:
                    content["deleted"] = True
                else:
                    content["keys"] = found[device_id]
                await self._queues.enqueue(
                    destinations, "edu", {"edu_type": DEVICE_LIST_UPDATE, "content": content}
                )
        if change.cross_signing:
            current = await device_keys.local_query({user_id: []}, None, with_names=False)
            content = {"user_id": user_id}
            if user_id in current["master_keys"]:
                content["master_key"] = current["master_keys"][user_id]
            if user_id in current["self_signing_keys"]:
                content["self_signing_key"] = current["self_signing_keys"][user_id]
            if len(content) > 1:
                await self._queues.enqueue(
                    destinations, "edu", {"edu_type": SIGNING_KEY_UPDATE, "content": content}
                )

    async def send(
        self,
        sender: str,
        event_type: str,
        message_id: str,
        messages: dict[str, dict[str, Any]],
    ) -> None:
        servers = {server_name_of(user_id) for user_id in messages}
        servers.discard(self._name)
        for server in sorted(servers):
            content = {
                "sender": sender,
                "type": event_type,
                "message_id": message_id,
                "messages": {u: m for u, m in messages.items() if server_name_of(u) == server},
            }
            await self._queues.enqueue(
                [server], "edu", {"edu_type": DIRECT_TO_DEVICE, "content": content}
            )


class InboundE2ee:
    """The E2EE EDUs other servers send us (registered with `InboundEdus`)."""

    def __init__(self, homeserver: HomeServer, remote_keys: RemoteKeys) -> None:
        self._hs = homeserver
        self._remote_keys = remote_keys

    def handlers(self) -> dict[str, EduHandler]:
        return {
            DEVICE_LIST_UPDATE: self.device_list_update,
            SIGNING_KEY_UPDATE: self.signing_key_update,
            DIRECT_TO_DEVICE: self.direct_to_device,
        }

    async def _shares_room_with_us(self, user_id: str) -> bool:
        return bool(await self._hs.user_rooms.rooms_for_user(user_id))

    async def device_list_update(self, origin: str, content: dict[str, Any]) -> None:
        user_id, device_id = content.get("user_id"), content.get("device_id")
        stream_id, prev_ids = content.get("stream_id"), content.get("prev_id", [])
        if not _is_users_of(user_id, origin) or not isinstance(device_id, str):
            return
        assert isinstance(user_id, str)
        if not isinstance(stream_id, int) or not isinstance(prev_ids, list):
            return
        if not await self._shares_room_with_us(user_id):
            return  # nobody here tracks them
        keys = content.get("keys")
        if keys is not None and (
            not isinstance(keys, dict)
            or keys.get("user_id") != user_id
            or keys.get("device_id") != device_id
        ):
            return
        deleted = content.get("deleted") is True
        ids = [p for p in prev_ids if isinstance(p, int)]
        if not self._remote_keys.apply_update(user_id, device_id, stream_id, ids, keys, deleted):
            self._remote_keys.resync_soon(user_id)
        await self._hs.e2ee.device_lists.mark_changed(user_id, [device_id], deleted=deleted)

    async def signing_key_update(self, origin: str, content: dict[str, Any]) -> None:
        user_id = content.get("user_id")
        if not _is_users_of(user_id, origin):
            return
        assert isinstance(user_id, str)
        if not await self._shares_room_with_us(user_id):
            return
        master, self_signing = content.get("master_key"), content.get("self_signing_key")
        self._remote_keys.apply_signing_keys(
            user_id,
            master if isinstance(master, dict) and master.get("user_id") == user_id else None,
            self_signing
            if isinstance(self_signing, dict) and self_signing.get("user_id") == user_id
            else None,
        )
        await self._hs.e2ee.device_lists.mark_changed(user_id, cross_signing=True)

    async def direct_to_device(self, origin: str, content: dict[str, Any]) -> None:
        sender, event_type = content.get("sender"), content.get("type")
        message_id, messages = content.get("message_id"), content.get("messages")
        if not _is_users_of(sender, origin):
            return
        assert isinstance(sender, str)
        if not isinstance(event_type, str) or not event_type or len(event_type) > 255:
            return
        if not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_MESSAGE_ID_LENGTH:
            return
        if not isinstance(messages, dict):
            return
        try:
            await self._hs.e2ee.to_device.receive_remote(sender, event_type, message_id, messages)
        except MatrixError as exc:
            logger.info("to-device EDU ignored", extra={"origin": origin, "error": str(exc)})
