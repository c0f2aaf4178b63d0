"""Whether a received PDU is a well-formed event of its room version (room versions 11
and 12), the first of the checks on receipt of a PDU: a malformed PDU is dropped."""

from collections.abc import Mapping
from typing import Any

from homeserver.events.canonical_json import canonical_json
from homeserver.events.identifiers import is_valid_user_id
from homeserver.events.room_versions import RoomVersion

__all__ = ["MAX_ID_BYTES", "MAX_PDU_BYTES", "InvalidPduError", "check_pdu_format"]

MAX_PDU_BYTES = 65_536
"""The largest event, as canonical JSON in the federation format (signatures included)."""
MAX_ID_BYTES = 255
_MAX_AUTH_EVENTS = 10
_MAX_PREV_EVENTS = 20


class InvalidPduError(ValueError):
    """The PDU is malformed or too large; ``str()`` says how."""


def check_pdu_format(pdu: object, room_version: RoomVersion) -> None:
    """Raise InvalidPduError unless ``pdu`` has the room version's event format and fits
    the size limits (65,536 bytes in all; 255 bytes for IDs, ``type`` and ``state_key``)."""
    if not isinstance(pdu, Mapping):
        raise InvalidPduError("a PDU must be a JSON object")
    try:
        size = len(canonical_json(pdu))
    except ValueError as exc:
        raise InvalidPduError(f"PDU is not canonical JSON: {exc}") from exc
    if size > MAX_PDU_BYTES:
        raise InvalidPduError(f"PDU is {size} bytes, more than {MAX_PDU_BYTES}")
    _check_strings(pdu)
    _check_room_id(pdu, room_version)
    _check_objects(pdu)
    _check_integers(pdu)
    _check_event_id_list(pdu, "auth_events", _MAX_AUTH_EVENTS)
    _check_event_id_list(pdu, "prev_events", _MAX_PREV_EVENTS)


def _short_string(value: object) -> bool:
    return isinstance(value, str) and len(value.encode("utf-8")) <= MAX_ID_BYTES


def _check_strings(pdu: Mapping[str, Any]) -> None:
    if not _short_string(pdu.get("type")):
        raise InvalidPduError("type must be a string of at most 255 bytes")
    if "state_key" in pdu and not _short_string(pdu["state_key"]):
        raise InvalidPduError("state_key must be a string of at most 255 bytes")
    if not is_valid_user_id(pdu.get("sender")):
        raise InvalidPduError("sender must be a user ID of at most 255 bytes")


def _check_room_id(pdu: Mapping[str, Any], room_version: RoomVersion) -> None:
    is_create = pdu.get("type") == "m.room.create" and pdu.get("state_key") == ""
    if is_create and room_version.room_id_is_create_event_hash:
        if "room_id" in pdu:
            raise InvalidPduError("an m.room.create event has no room_id in this room version")
        return
    room_id = pdu.get("room_id")
    if not _short_string(room_id) or not str(room_id).startswith("!"):
        raise InvalidPduError("room_id must be a room ID of at most 255 bytes")
    if room_version.room_id_is_create_event_hash and ":" in str(room_id):
        raise InvalidPduError("room IDs of this room version have no server name")


def _check_objects(pdu: Mapping[str, Any]) -> None:
    if not isinstance(pdu.get("content"), Mapping):
        raise InvalidPduError("content must be an object")
    if "unsigned" in pdu and not isinstance(pdu["unsigned"], Mapping):
        raise InvalidPduError("unsigned must be an object")
    hashes = pdu.get("hashes")
    if not isinstance(hashes, Mapping) or not isinstance(hashes.get("sha256"), str):
        raise InvalidPduError("hashes.sha256 must be a string")
    signatures = pdu.get("signatures")
    if not isinstance(signatures, Mapping) or not all(
        isinstance(by_key, Mapping) and all(isinstance(sig, str) for sig in by_key.values())
        for by_key in signatures.values()
    ):
        raise InvalidPduError("signatures must map server names to key IDs to signatures")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_integers(pdu: Mapping[str, Any]) -> None:
    if not _is_int(pdu.get("origin_server_ts")):
        raise InvalidPduError("origin_server_ts must be an integer")
    depth = pdu.get("depth")
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise InvalidPduError("depth must be a non-negative integer")


def _check_event_id_list(pdu: Mapping[str, Any], name: str, limit: int) -> None:
    ids = pdu.get(name)
    if not isinstance(ids, list) or not all(
        _short_string(item) and str(item).startswith("$") for item in ids
    ):
        raise InvalidPduError(f"{name} must be a list of event IDs")
    if len(ids) > limit:
        raise InvalidPduError(f"{name} lists {len(ids)} events, more than {limit}")
