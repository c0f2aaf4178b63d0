"""Server-side key backup (/room_keys/...): backup versions and the room keys
clients back up in them, encrypted so that only they can read them.

Keys are written only to the newest version (others answer 403
M_WRONG_ROOM_KEYS_VERSION naming it). Of two keys for one session the backup
keeps the better one by the spec's rule (`storage/key_backup.py`). The etag
changes whenever the stored keys change."""

from __future__ import annotations

from typing import Any

from homeserver.errors import MatrixError, bad_json, invalid_param, missing_param, not_found
from homeserver.storage import Storage
from homeserver.storage.key_backup import BackedUpKey, BackupVersion
from homeserver.util import json_dumps, json_loads

ALGORITHM_NAME_LENGTH = 255
# The backup algorithms of the spec (a new version must use one of them).
BACKUP_ALGORITHMS = ("m.megolm_backup.v1.curve25519-aes-sha2",)
MAX_KEYS_PER_UPLOAD = 10_000


def _unknown_version() -> MatrixError:
    return not_found("Unknown backup version")


def parse_version(text: str | None) -> int:
    """A backup version as the client names it (our versions are numbers)."""
    if text is None or text == "":
        raise missing_param("Missing version")
    if not text.isdigit() or len(text) > 18:
        raise _unknown_version()
    return int(text)


def _check_algorithm(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    algorithm = body.get("algorithm")
    if not isinstance(algorithm, str) or not algorithm:
        raise missing_param("algorithm is required")
    if len(algorithm) > ALGORITHM_NAME_LENGTH:
        raise invalid_param("algorithm too long")
    auth_data = body.get("auth_data")
    if not isinstance(auth_data, dict):
        raise missing_param("auth_data must be an object")
    return algorithm, auth_data


def _key_from(room_id: str, session_id: str, data: Any) -> BackedUpKey:
    if not isinstance(data, dict):
        raise bad_json(f"The key data of session {session_id[:64]!r} must be an object")
    fields = ("first_message_index", "forwarded_count")
    for name in fields:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad_json(f"{name} must be a non-negative integer")
    if not isinstance(data.get("is_verified"), bool):
        raise bad_json("is_verified must be true or false")
    if not isinstance(data.get("session_data"), dict):
        raise bad_json("session_data must be an object")
    if len(room_id) > 255 or len(session_id) > 255:
        raise invalid_param("Room and session ids are at most 255 characters")
    return BackedUpKey(
        room_id,
        session_id,
        data["first_message_index"],
        data["forwarded_count"],
        data["is_verified"],
        json_dumps(data["session_data"]),
    )


def _key_json(key: BackedUpKey) -> dict[str, Any]:
    return {
        "first_message_index": key.first_message_index,
        "forwarded_count": key.forwarded_count,
        "is_verified": key.is_verified,
        "session_data": json_loads(key.session_data),
    }


class KeyBackup:
    def __init__(self, storage: Storage) -> None:
        self._store = storage.key_backup

    # -- versions -------------------------------------------------------------

    async def create_version(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        algorithm, auth_data = _check_algorithm(body)
        if algorithm not in BACKUP_ALGORITHMS:
            raise invalid_param(f"Unknown backup algorithm (known: {', '.join(BACKUP_ALGORITHMS)})")
        version = await self._store.create_version(user_id, algorithm, json_dumps(auth_data))
        return {"version": str(version)}

    async def get_version(self, user_id: str, version_text: str | None) -> dict[str, Any]:
        version = None if version_text is None else parse_version(version_text)
        found = await self._store.get_version(user_id, version)
        if found is None:
            raise not_found(
                "No current backup version" if version is None else "Unknown backup version"
            )
        return {
            "algorithm": found.algorithm,
            "auth_data": json_loads(found.auth_data),
            "count": await self._store.count_keys(user_id, found.version),
            "etag": str(found.etag),
            "version": str(found.version),
        }

    async def update_version(self, user_id: str, version_text: str, body: dict[str, Any]) -> None:
        version = parse_version(version_text)
        algorithm, auth_data = _check_algorithm(body)
        if "version" in body and not isinstance(body["version"], str):
            raise bad_json("version must be a string")
        found = await self._store.get_version(user_id, version)
        if found is None:
            raise _unknown_version()
        # What must agree with the path and the stored backup (the spec's 400s).
        if "version" in body and body["version"] != version_text:
            raise invalid_param("version in the body does not match the path")
        if algorithm != found.algorithm:
            raise invalid_param("Algorithm does not match")
        await self._store.update_version(user_id, version, json_dumps(auth_data))

    async def delete_version(self, user_id: str, version_text: str) -> None:
        if not await self._store.delete_version(user_id, parse_version(version_text)):
            raise _unknown_version()

    # -- keys -------------------------------------------------------------------

    async def _writable(self, user_id: str, version_text: str | None) -> BackupVersion:
        version = parse_version(version_text)
        current = await self._store.get_version(user_id, None)
        if current is None:
            raise _unknown_version()
        if current.version != version:
            raise MatrixError(
                403,
                "M_WRONG_ROOM_KEYS_VERSION",
                "Wrong backup version",
                current_version=str(current.version),
            )
        return current

    async def _existing(self, user_id: str, version_text: str | None) -> BackupVersion:
        found = await self._store.get_version(user_id, parse_version(version_text))
        if found is None:
            raise _unknown_version()
        return found

    async def _update_result(self, user_id: str, version: int) -> dict[str, Any]:
        found = await self._store.get_version(user_id, version)
        etag = found.etag if found is not None else 0
        return {"etag": str(etag), "count": await self._store.count_keys(user_id, version)}

    async def put_keys(
        self,
        user_id: str,
        version_text: str | None,
        body: dict[str, Any],
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> dict[str, Any]:
        """Body shapes by path: all rooms (`{"rooms": {room: {"sessions": ...}}}`),
        one room (`{"sessions": {...}}`), one session (the key data)."""
        version = (await self._writable(user_id, version_text)).version
        keys: list[BackedUpKey] = []
        if session_id is not None and room_id is not None:
            keys.append(_key_from(room_id, session_id, body))
        elif room_id is not None:
            keys.extend(self._sessions(room_id, body))
        else:
            rooms = body.get("rooms")
            if not isinstance(rooms, dict):
                raise bad_json("rooms must be an object keyed by room id")
            for room, room_body in rooms.items():
                if not isinstance(room_body, dict):
                    raise bad_json("Each room must be an object with sessions")
                keys.extend(self._sessions(room, room_body))
        if len(keys) > MAX_KEYS_PER_UPLOAD:
            raise invalid_param(f"At most {MAX_KEYS_PER_UPLOAD} keys per upload")
        if not await self._store.put_keys(user_id, version, keys):
            raise _unknown_version()  # deleted since it was checked
        return await self._update_result(user_id, version)

    @staticmethod
    def _sessions(room_id: str, body: dict[str, Any]) -> list[BackedUpKey]:
        sessions = body.get("sessions")
        if not isinstance(sessions, dict):
            raise bad_json("sessions must be an object keyed by session id")
        return [_key_from(room_id, sid, data) for sid, data in sessions.items()]

    async def get_keys(
        self,
        user_id: str,
        version_text: str | None,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> dict[str, Any]:
        version = (await self._existing(user_id, version_text)).version
        keys = await self._store.get_keys(user_id, version, room_id, session_id)
        if session_id is not None:
            if not keys:
                raise not_found("No key backed up for that session")
            return _key_json(keys[0])
        rooms: dict[str, dict[str, Any]] = {}
        for key in keys:
            rooms.setdefault(key.room_id, {})[key.session_id] = _key_json(key)
        if room_id is not None:
            return {"sessions": rooms.get(room_id, {})}
        return {"rooms": {room: {"sessions": sessions} for room, sessions in rooms.items()}}

    async def delete_keys(
        self,
        user_id: str,
        version_text: str | None,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> dict[str, Any]:
        version = (await self._existing(user_id, version_text)).version
        await self._store.delete_keys(user_id, version, room_id, session_id)
        return await self._update_result(user_id, version)
