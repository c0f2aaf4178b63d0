"""Push notifications, wired together: users' push rules, their pushers, the
attention registry (focused clients) and the background dispatcher with its
two senders (Matrix push gateways and Web Push)."""

from __future__ import annotations

import asyncio
from typing import Final

from homeserver.config import Config
from homeserver.push.attention import AttentionRegistry
from homeserver.push.dispatcher import DispatchSettings, PushDispatcher
from homeserver.push.gateway import GatewaySender
from homeserver.push.outcome import Sender
from homeserver.push.pushers import Pushers
from homeserver.push.ssrf import OutboundGuard
from homeserver.push.user_rules import UserPushRules
from homeserver.push.vapid import VapidKey, load_or_create_vapid_key
from homeserver.push.webpush import WebPushSender, vapid_subject
from homeserver.storage import Storage
from homeserver.storage.pushers import push_stores
from homeserver.streams.notifier import Notifier
from homeserver.streams.positions import Positions

REQUEST_TIMEOUT_SECONDS: Final = 15.0


async def load_vapid_key(config: Config) -> VapidKey:
    return await asyncio.to_thread(load_or_create_vapid_key, config.data_dir)


class PushService:
    def __init__(
        self,
        config: Config,
        storage: Storage,
        positions: Positions,
        notifier: Notifier,
        vapid: VapidKey,
        settings: DispatchSettings | None = None,
    ) -> None:
        rule_store, pusher_store = push_stores(storage)
        self._positions = positions
        self.vapid = vapid
        self.guard = OutboundGuard(config.push_allow_private_addresses)
        self.rules = UserPushRules(rule_store, positions, notifier)
        self.pushers = Pushers(pusher_store, self.guard)
        self.attention = AttentionRegistry()
        self._config = config
        self._storage = storage
        self._pusher_store = pusher_store
        self._settings = settings
        self.dispatcher = self._new_dispatcher()
        # A cluster worker: pushes are sent by the leader only (`lead`).
        self.leading = False
        positions.add_listener(self._stream_advanced)

    def _new_dispatcher(self) -> PushDispatcher:
        config = self._config
        include_content = config.push_include_content
        senders: dict[str, Sender] = {
            "http": GatewaySender(
                self.guard, include_content=include_content, timeout_seconds=REQUEST_TIMEOUT_SECONDS
            ),
            "webpush": WebPushSender(
                self.guard,
                self.vapid,
                vapid_subject(config.base_url, config.server_name),
                include_content=include_content,
                timeout_seconds=REQUEST_TIMEOUT_SECONDS,
            ),
        }
        return PushDispatcher(
            self._storage, self._pusher_store, self.attention, senders, self._settings
        )

    async def start(self) -> None:
        await self.dispatcher.start(self._positions.current)

    async def stop(self) -> None:
        await self.dispatcher.stop()

    async def lead(self) -> None:
        """This worker became the cluster's leader: it sends every worker's
        pushes, resuming where the previous leader's recorded progress ends."""
        current = self._positions.current
        await self.dispatcher.start(current)
        self.dispatcher.follow_stream(current)
        self.leading = True
        self.dispatcher.stream_advanced(self._positions.current)

    async def step_down(self) -> None:
        self.leading = False
        await self.dispatcher.stop()
        self.dispatcher = self._new_dispatcher()  # a stopped one cannot start again

    def _stream_advanced(self, current: int) -> None:
        if self.leading:
            self.dispatcher.stream_advanced(current)
