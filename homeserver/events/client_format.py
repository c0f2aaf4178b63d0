"""Turning a PDU into the Client-Server API ``ClientEvent`` shape."""

import copy
from collections.abc import Mapping
from typing import Any

from homeserver.events.hashing import compute_reference_hash_event_id
from homeserver.events.redaction import redact_event
from homeserver.events.room_ids import room_id_of

__all__ = ["to_client_event"]


def to_client_event(
    event: Mapping[str, Any],
    *,
    age_ms: int | None = None,
    transaction_id: str | None = None,
    redacted_because: Mapping[str, Any] | None = None,
    prev_content: Mapping[str, Any] | None = None,
    include_room_id: bool = True,
) -> dict[str, Any]:
    """Build the ClientEvent for ``event`` (a new dict; ``event`` is not mutated).

    Keeps ``content``, ``event_id``, ``origin_server_ts``, ``room_id`` (unless
    ``include_room_id`` is false, as in sync timelines), ``sender``, ``state_key`` (state
    events only) and ``type``; PDU-only fields are dropped. ``unsigned`` holds ``age``,
    ``transaction_id``, ``redacted_because`` and ``prev_content`` when given, and is
    omitted when empty. When ``redacted_because`` is given the event is redacted first
    (redaction is idempotent, so passing an already redacted event is fine). The
    ``event_id`` is computed from the reference hash if the event does not carry one.
    ``m.room.redaction`` events also get a top-level ``redacts`` copied from ``content``
    for older clients, as the room version 11 spec asks of servers.
    """
    source = redact_event(event) if redacted_because is not None else event
    client_event: dict[str, Any] = {
        "content": copy.deepcopy(source.get("content", {})),
        "event_id": event.get("event_id") or compute_reference_hash_event_id(event),
        "origin_server_ts": source.get("origin_server_ts"),
        "sender": source.get("sender"),
        "type": source.get("type"),
    }
    if include_room_id:
        # A room version 12 create event has no room_id of its own; clients still get one.
        client_event["room_id"] = room_id_of(source)
    if "state_key" in source:
        client_event["state_key"] = source["state_key"]
    redacts = _redaction_target(source)
    if redacts is not None:
        client_event["redacts"] = redacts
    unsigned = _unsigned(age_ms, transaction_id, redacted_because, prev_content)
    if unsigned:
        client_event["unsigned"] = unsigned
    return client_event


def _redaction_target(event: Mapping[str, Any]) -> str | None:
    if event.get("type") != "m.room.redaction":
        return None
    content = event.get("content")
    redacts = content.get("redacts") if isinstance(content, Mapping) else None
    if redacts is None:
        redacts = event.get("redacts")
    return redacts if isinstance(redacts, str) else None


def _unsigned(
    age_ms: int | None,
    transaction_id: str | None,
    redacted_because: Mapping[str, Any] | None,
    prev_content: Mapping[str, Any] | None,
) -> dict[str, Any]:
    unsigned: dict[str, Any] = {}
    if age_ms is not None:
        unsigned["age"] = age_ms
    if transaction_id is not None:
        unsigned["transaction_id"] = transaction_id
    if redacted_because is not None:
        unsigned["redacted_because"] = copy.deepcopy(dict(redacted_because))
    if prev_content is not None:
        unsigned["prev_content"] = copy.deepcopy(dict(prev_content))
    return unsigned
