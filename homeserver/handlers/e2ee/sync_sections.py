"""The E2EE parts of a sync response, for long-poll /sync and the WebSocket
stream alike: `to_device`, `device_lists`, `device_one_time_keys_count` and
`device_unused_fallback_key_types`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from homeserver.handlers.e2ee.device_keys import DeviceKeys
from homeserver.handlers.e2ee.device_lists import DeviceListDelta, DeviceLists, MembershipMoves
from homeserver.handlers.e2ee.to_device import ToDevice
from homeserver.handlers.tokens import Requester
from homeserver.streams.tokens import StreamToken


@dataclass
class E2eeSections:
    to_device: list[dict[str, Any]] = field(default_factory=list)
    to_device_upto: int = 0
    device_lists: DeviceListDelta = field(default_factory=DeviceListDelta)
    one_time_keys_count: dict[str, int] = field(default_factory=dict)
    unused_fallback_key_types: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        """Key counts alone are not news (they come along with anything else)."""
        return not (self.to_device or self.device_lists.changed or self.device_lists.left)

    def add_to(self, body: dict[str, Any]) -> None:
        body["to_device"] = {"events": self.to_device}
        body["device_lists"] = {
            "changed": sorted(self.device_lists.changed),
            "left": sorted(self.device_lists.left),
        }
        body["device_one_time_keys_count"] = self.one_time_keys_count
        body["device_unused_fallback_key_types"] = self.unused_fallback_key_types


class E2eeSync:
    def __init__(
        self, to_device: ToDevice, device_lists: DeviceLists, device_keys: DeviceKeys
    ) -> None:
        self._to_device = to_device
        self._device_lists = device_lists
        self._device_keys = device_keys

    async def sections(
        self,
        requester: Requester,
        since: StreamToken | None,
        now: StreamToken,
        joined_rooms: Sequence[str],
        moves: MembershipMoves,
    ) -> E2eeSections:
        user_id, device_id = requester.user_id, requester.device_id
        after = 0 if since is None else min(since.to_device, now.events)
        delivery = await self._to_device.deliver(user_id, device_id, after, now.events)
        sections = E2eeSections(to_device=delivery.events, to_device_upto=delivery.upto)
        if since is not None:
            sections.device_lists = await self._device_lists.delta(
                user_id, joined_rooms, moves, min(since.events, now.events), now.events
            )
        await self._add_counts(requester, sections)
        return sections

    async def idle(self, requester: Requester) -> E2eeSections:
        """The sections of a sync with nothing new: the key counts alone."""
        sections = E2eeSections()
        await self._add_counts(requester, sections)
        return sections

    async def _add_counts(self, requester: Requester, sections: E2eeSections) -> None:
        counts = await self._device_keys.counts(requester.user_id, requester.device_id)
        sections.one_time_keys_count = dict(counts.one_time_keys)
        sections.unused_fallback_key_types = list(counts.unused_fallback_types)

    async def acknowledge(self, requester: Requester, since: StreamToken) -> None:
        """The client has the response that ended at `since`."""
        await self._to_device.acknowledge(requester.user_id, requester.device_id, since.to_device)
