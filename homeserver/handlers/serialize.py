"""Turning stored events into the JSON clients receive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from homeserver.events import to_client_event
from homeserver.storage import Storage
from homeserver.storage.events import StoredEvent
from homeserver.util import now_ms


class EventSerializer:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def serialize(
        self,
        events: Sequence[StoredEvent],
        *,
        user_id: str | None = None,
        device_id: str | None = None,
        include_room_id: bool = True,
    ) -> list[dict[str, Any]]:
        redaction_ids = [e.redacted_by for e in events if e.redacted_by]
        redactions = await self._storage.events.get_events(redaction_ids) if redaction_ids else {}
        now = now_ms()
        result = []
        for stored in events:
            because = redactions.get(stored.redacted_by) if stored.redacted_by else None
            own_send = (
                device_id is not None
                and stored.txn_id is not None
                and stored.sender_device == device_id
                and stored.event["sender"] == user_id
            )
            result.append(
                to_client_event(
                    stored.event,
                    age_ms=max(0, now - int(stored.event["origin_server_ts"])),
                    transaction_id=stored.txn_id if own_send else None,
                    redacted_because=to_client_event(because.event) if because else None,
                    include_room_id=include_room_id,
                )
            )
        return result

    async def serialize_one(self, event: StoredEvent, **kwargs: Any) -> dict[str, Any]:
        return (await self.serialize([event], **kwargs))[0]
