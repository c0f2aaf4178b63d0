"""To-device messages: PUT /sendToDevice/{eventType}/{txnId} and each
device's inbox, delivered by sync.

A message gets a position of the global stream and waits in its device's
inbox. A sync hands out the messages after the device's `to_device` token
position (at most `MAX_PER_SYNC`: the rest come with the next sync, whose
token says how far it got), and deletes them once a later sync's `since`
shows the device received that response. So each is delivered exactly once
to a client that follows its tokens, and again only to one that goes back to
an older token (it never saw the answer)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeserver.errors import bad_json, invalid_param
from homeserver.events.identifiers import server_name_of
from homeserver.handlers.e2ee.key_objects import check_user_device_map
from homeserver.handlers.e2ee.remote import RemoteToDevice
from homeserver.handlers.tokens import Requester
from homeserver.storage import Storage
from homeserver.storage.to_device import Recipient
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import Positions
from homeserver.util import json_dumps, json_loads, now_ms

MAX_PER_SYNC = 100
# Recipient devices of one request (a '*' counts as each device it reaches).
MAX_RECIPIENTS = 10_000
ALL_DEVICES = "*"
# The "device" under which messages from other servers' users are recorded
# (by their `message_id`), so that a repeated EDU is delivered once.
REMOTE_SENDER_DEVICE = "*federation*"


def message_id_for(user_id: str, device_id: str, txn_id: str) -> str:
    """The `m.direct_to_device` message id of one sendToDevice request: the
    same on every retry, at most 32 characters as the spec asks."""
    digest = hashlib.sha256(f"{user_id}\n{device_id}\n{txn_id}".encode()).hexdigest()
    return digest[:32]


@dataclass(frozen=True)
class InboxDelivery:
    events: list[dict[str, Any]]
    # How far the inbox has been handed out (the next token's `to_device`).
    upto: int


def check_messages(value: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """`messages`: user id -> device id (or '*') -> content (an object)."""
    messages = check_user_device_map(value, "messages")
    for by_device in messages.values():
        if not isinstance(by_device, dict):
            raise bad_json("messages values must map device ids to message contents")
        if not all(isinstance(content, dict) for content in by_device.values()):
            raise bad_json("Each to-device message content must be an object")
    return messages


class ToDevice:
    def __init__(
        self,
        storage: Storage,
        positions: Positions,
        notifier: Notifier,
        server_name: str,
    ) -> None:
        self._storage = storage
        self._positions = positions
        self._notifier = notifier
        self._server_name = server_name
        # The newest position handed out per device and not acknowledged yet,
        # and the devices whose inbox was tidied since start (messages handed
        # out before a restart are deleted at the first acknowledgement after it).
        self._unacknowledged: dict[tuple[str, str], int] = {}
        self._tidied: set[tuple[str, str]] = set()
        # A cluster worker: `relay(user_id, device_id, newest)` tells the
        # others what was handed out here (the device may acknowledge there).
        self.relay: Callable[[str, str, int], None] | None = None
        # Other servers' users' devices (federation attaches it).
        self.remote: RemoteToDevice | None = None

    async def send(
        self, requester: Requester, event_type: str, txn_id: str, body: dict[str, Any]
    ) -> None:
        messages = check_messages(body.get("messages"))
        store = self._storage.to_device
        # Checked before the transaction id: a bad body is refused on a retry too.
        if await store.has_txn(requester.user_id, requester.device_id, txn_id):
            return
        remote: dict[str, dict[str, dict[str, Any]]] = {}
        recipients = await self._recipients(messages, remote)
        async with self._positions.allocate() as position:
            stored = await store.add_messages(
                requester.user_id,
                requester.device_id,
                txn_id,
                event_type,
                recipients,
                position,
                now_ms(),
            )
        if stored and recipients:
            self._notifier.notify_to_device(sorted({r.user_id for r in recipients}), position)
        if stored and remote and self.remote is not None:
            # Only the first request with this txn id gets here: one EDU per server.
            message_id = message_id_for(requester.user_id, requester.device_id, txn_id)
            for by_user in remote.values():
                await self.remote.send(requester.user_id, event_type, message_id, by_user)

    async def receive_remote(
        self, sender: str, event_type: str, message_id: str, messages: dict[str, Any]
    ) -> bool:
        """An `m.direct_to_device` EDU from the sender's server, into our
        devices' inboxes; False when that message id was delivered before."""
        store = self._storage.to_device
        if await store.has_txn(sender, REMOTE_SENDER_DEVICE, message_id):
            return False
        recipients = await self._recipients(messages, None)
        async with self._positions.allocate() as position:
            stored = await store.add_messages(
                sender, REMOTE_SENDER_DEVICE, message_id, event_type, recipients, position, now_ms()
            )
        if stored and recipients:
            self._notifier.notify_to_device(sorted({r.user_id for r in recipients}), position)
        return stored

    async def _recipients(
        self, messages: dict[str, Any], remote: dict[str, dict[str, dict[str, Any]]] | None
    ) -> list[Recipient]:
        """One message per existing device; unknown users and devices are
        dropped, as the spec says. An explicit device id wins over '*' for
        that device. Messages to other servers' users go into `remote` (by
        server) when it is given and federation is attached, else are dropped."""
        chosen: dict[tuple[str, str], str] = {}
        for user_id, by_device in check_messages(messages).items():
            if not user_id.endswith(f":{self._server_name}"):
                if remote is not None and self.remote is not None and ":" in user_id:
                    remote.setdefault(server_name_of(user_id), {})[user_id] = by_device
                continue
            devices = {d.device_id for d in await self._storage.users.list_devices(user_id)}
            if ALL_DEVICES in by_device:
                text = json_dumps(by_device[ALL_DEVICES])
                for device_id in devices:
                    chosen[(user_id, device_id)] = text
            for device_id, content in by_device.items():
                if device_id != ALL_DEVICES and device_id in devices:
                    chosen[(user_id, device_id)] = json_dumps(content)
            if len(chosen) > MAX_RECIPIENTS:
                raise invalid_param(f"At most {MAX_RECIPIENTS} recipient devices per request")
        return [Recipient(u, d, text) for (u, d), text in chosen.items()]

    async def acknowledge(self, user_id: str, device_id: str, upto: int) -> None:
        """The device has received its messages up to `upto`: they go."""
        key = (user_id, device_id)
        if upto <= 0 or (key not in self._unacknowledged and key in self._tidied):
            return
        await self._storage.to_device.delete_upto(user_id, device_id, upto)
        self._tidied.add(key)
        if self._unacknowledged.get(key, 0) <= upto:
            self._unacknowledged.pop(key, None)

    async def deliver(self, user_id: str, device_id: str, after: int, upto: int) -> InboxDelivery:
        """The device's messages in (after, upto], at most `MAX_PER_SYNC`."""
        notifier = self._notifier
        if (
            notifier.knows_since(after)
            and notifier.settled(upto)
            and notifier.to_device_position(user_id) <= after
        ):
            return InboxDelivery([], upto)
        found = await self._storage.to_device.get_messages(
            user_id, device_id, after, upto, MAX_PER_SYNC
        )
        if not found:
            return InboxDelivery([], upto)
        newest = found[-1].stream_ordering
        self.handed_out(user_id, device_id, newest)
        if self.relay is not None:
            self.relay(user_id, device_id, newest)
        events = [
            {"type": m.type, "sender": m.sender, "content": json_loads(m.content)} for m in found
        ]
        return InboxDelivery(events, newest if len(found) == MAX_PER_SYNC else upto)

    def handed_out(self, user_id: str, device_id: str, newest: int) -> None:
        """Messages up to `newest` went to the device (here or on another worker)."""
        key = (user_id, device_id)
        self._unacknowledged[key] = max(newest, self._unacknowledged.get(key, 0))

    async def account_closed(self, user_id: str) -> None:
        await self._storage.to_device.erase_user(user_id)
        for key in [k for k in self._unacknowledged if k[0] == user_id]:
            del self._unacknowledged[key]
        self._tidied = {k for k in self._tidied if k[0] != user_id}

    async def devices_removed(self, user_id: str, device_ids: list[str]) -> None:
        await self._storage.to_device.delete_devices(user_id, device_ids)
        for device_id in device_ids:
            self._unacknowledged.pop((user_id, device_id), None)
            self._tidied.discard((user_id, device_id))
