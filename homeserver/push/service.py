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
        include_content = config.push_include_content
        senders: dict[str, Sender] = {
            "http": GatewaySender(
                self.guard, include_content=include_content, timeout_seconds=REQUEST_TIMEOUT_SECONDS
            ),
            "webpush": WebPushSender(
                self.guard,
                vapid,
                vapid_subject(config.base_url, config.server_name),
                include_content=include_content,
                timeout_seconds=REQUEST_TIMEOUT_SECONDS,
            ),
        }
        self.dispatcher = PushDispatcher(storage, pusher_store, self.attention, senders, settings)

    async def start(self) -> None:
        await self.dispatcher.start(self._positions.current)

    async def stop(self) -> None:
        await self.dispatcher.stop()
