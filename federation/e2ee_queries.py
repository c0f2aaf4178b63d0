"""Other servers asking for our users' keys: `/user/keys/query`,
`/user/keys/claim` and `/user/devices/{userId}`. Only our own users may be
asked about (400 `M_INVALID_PARAM` otherwise, as Synapse answers); other
servers see no user-signing keys, no signatures by other users and no device
display names (which are private to the user and the people they talk to on
their own server)."""

from __future__ import annotations

from typing import Any

from homeserver.errors import MatrixError
from homeserver.events.identifiers import server_name_of
from homeserver.handlers.e2ee.key_objects import check_user_device_map
from homeserver.server import HomeServer

MAX_USERS_PER_REQUEST = 1_000


def _not_ours(user_id: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_PARAM", f"{user_id[:255]} is not a user of this server")


class E2eeQueries:
    def __init__(self, homeserver: HomeServer) -> None:
        self._hs = homeserver
        self._name = homeserver.server_name

    def _check_ours(self, user_id: str) -> None:
        if (
            not user_id.startswith("@")
            or ":" not in user_id
            or server_name_of(user_id) != self._name
        ):
            raise _not_ours(user_id)

    async def query(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise MatrixError(400, "M_BAD_JSON", "The body must be a JSON object")
        wanted = check_user_device_map(body.get("device_keys"), "device_keys")
        if len(wanted) > MAX_USERS_PER_REQUEST:
            raise MatrixError(400, "M_INVALID_PARAM", f"At most {MAX_USERS_PER_REQUEST} users")
        asked: dict[str, list[str]] = {}
        for user_id, device_ids in wanted.items():
            self._check_ours(user_id)
            if not isinstance(device_ids, list) or not all(isinstance(d, str) for d in device_ids):
                raise MatrixError(
                    400, "M_BAD_JSON", "device_keys values must be lists of device ids"
                )
            asked[user_id] = device_ids
        return await self._hs.e2ee.device_keys.local_query(asked, None, with_names=False)

    async def claim(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise MatrixError(400, "M_BAD_JSON", "The body must be a JSON object")
        requested = check_user_device_map(body.get("one_time_keys"), "one_time_keys")
        wanted: list[tuple[str, str, str]] = []
        for user_id, devices in requested.items():
            self._check_ours(user_id)
            if not isinstance(devices, dict) or not all(
                isinstance(a, str) and a for a in devices.values()
            ):
                raise MatrixError(
                    400, "M_BAD_JSON", "one_time_keys values must map device ids to algorithms"
                )
            wanted.extend((user_id, device_id, alg) for device_id, alg in devices.items())
        if len(wanted) > MAX_USERS_PER_REQUEST * 10:
            raise MatrixError(400, "M_INVALID_PARAM", "Too many keys in one claim")
        return {"one_time_keys": await self._hs.e2ee.device_keys.claim_local(wanted)}

    async def devices(self, user_id: str) -> dict[str, Any]:
        self._check_ours(user_id)
        current = await self._hs.e2ee.device_keys.local_query({user_id: []}, None, with_names=False)
        keys = current["device_keys"].get(user_id, {})
        devices = [
            {"device_id": device.device_id, "keys": keys[device.device_id]}
            for device in await self._hs.storage.users.list_devices(user_id)
            if device.device_id in keys
        ]
        position = await self._hs.storage.e2ee_keys.get_device_list_position(user_id)
        answer: dict[str, Any] = {
            "user_id": user_id,
            "stream_id": position or 0,
            "devices": devices,
        }
        if user_id in current["master_keys"]:
            answer["master_key"] = current["master_keys"][user_id]
        if user_id in current["self_signing_keys"]:
            answer["self_signing_key"] = current["self_signing_keys"][user_id]
        return answer
