"""Device keys and one-time keys: POST /keys/upload, /keys/query, /keys/claim,
and the one-time key counts sync reports to each device.

Key objects are stored as the JSON text of what the client sent and served
from it; signatures other keys added later are merged into the `signatures`
of the served copy."""

from __future__ import annotations

import asyncio
import copy
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from homeserver.errors import MatrixError, invalid_param
from homeserver.handlers.e2ee.device_lists import DeviceLists
from homeserver.handlers.e2ee.key_objects import (
    MAX_ONE_TIME_KEYS_PER_UPLOAD,
    check_device_keys,
    check_fallback_keys,
    check_timeout,
    check_uploaded_keys,
    check_user_device_map,
    optional_field,
)
from homeserver.handlers.e2ee.remote import RemoteKeys, remote_timeout_seconds
from homeserver.handlers.tokens import Requester
from homeserver.storage import Storage
from homeserver.storage.e2ee_keys import ConflictingKeyError, NewKey, Signature
from homeserver.util import json_dumps, json_loads

# Devices whose key counts are kept in memory (sync reports them every time).
MAX_CACHED_COUNTS = 50_000
# (user, device) pairs one /keys/claim or /keys/query may ask about.
MAX_KEYS_REQUESTED = 5_000


@dataclass(frozen=True)
class KeyCounts:
    one_time_keys: dict[str, int]
    unused_fallback_types: list[str]


def merge_signatures(obj: dict[str, Any], signatures: Iterable[Signature]) -> dict[str, Any]:
    for s in signatures:
        obj.setdefault("signatures", {}).setdefault(s.signer_user_id, {})[s.signer_key_id] = (
            s.signature
        )
    return obj


class DeviceKeys:
    def __init__(self, storage: Storage, device_lists: DeviceLists, server_name: str) -> None:
        self._storage = storage
        self._device_lists = device_lists
        self._server_name = server_name
        self._counts: OrderedDict[tuple[str, str], KeyCounts] = OrderedDict()
        # A cluster worker: `relay(user_id, device_id)` tells the others that
        # the device's key counts changed (`forget_counts` there).
        self.relay: Callable[[str, str], None] | None = None
        # Other servers' users' keys (federation attaches it).
        self.remote: RemoteKeys | None = None

    def is_local(self, user_id: str) -> bool:
        return user_id.endswith(f":{self._server_name}")

    # -- upload --------------------------------------------------------------

    async def upload(self, requester: Requester, body: dict[str, Any]) -> dict[str, int]:
        user_id, device_id = requester.user_id, requester.device_id
        device_keys = optional_field(body, "device_keys")
        if device_keys is not None:
            check_device_keys(device_keys, user_id, device_id)
        one_time = check_uploaded_keys(optional_field(body, "one_time_keys"), "one_time_keys")
        if len(one_time) > MAX_ONE_TIME_KEYS_PER_UPLOAD:
            raise invalid_param(f"At most {MAX_ONE_TIME_KEYS_PER_UPLOAD} one-time keys per upload")
        fallback = check_fallback_keys(optional_field(body, "fallback_keys"))
        store = self._storage.e2ee_keys
        try:
            await store.add_one_time_keys(
                user_id,
                device_id,
                [NewKey(k.algorithm, k.key_id, json_dumps(k.value)) for k in one_time],
            )
        except ConflictingKeyError as exc:
            raise MatrixError(
                400,
                "M_INVALID_PARAM",
                f"One-time key {exc.key_id} already exists with other content",
            ) from exc
        if fallback:
            await store.set_fallback_keys(
                user_id,
                device_id,
                [NewKey(k.algorithm, k.key_id, json_dumps(k.value)) for k in fallback],
            )
        if device_keys is not None:
            text = json_dumps(device_keys)
            if await store.get_device_keys_json(user_id, device_id) != text:
                await store.set_device_keys(user_id, device_id, text)
                await self._device_lists.mark_changed(user_id, [device_id])
        self._counts.pop((user_id, device_id), None)
        if self.relay is not None:
            self.relay(user_id, device_id)
        return (await self.counts(user_id, device_id)).one_time_keys

    # -- counts ----------------------------------------------------------------

    def forget_counts(self, user_id: str, device_id: str) -> None:
        self._counts.pop((user_id, device_id), None)

    def forget_all_counts(self) -> None:
        self._counts.clear()

    async def counts(self, user_id: str, device_id: str) -> KeyCounts:
        key = (user_id, device_id)
        cached = self._counts.get(key)
        if cached is not None:
            self._counts.move_to_end(key)
            return cached
        one_time, fallback = await self._storage.e2ee_keys.count_one_time_keys(user_id, device_id)
        # Clients read a missing count as "unknown", not zero (Synapse sends it too).
        one_time.setdefault("signed_curve25519", 0)
        counts = KeyCounts(one_time, fallback)
        self._counts[key] = counts
        while len(self._counts) > MAX_CACHED_COUNTS:
            self._counts.popitem(last=False)
        return counts

    # -- query -----------------------------------------------------------------

    async def query(self, body: dict[str, Any], requester: Requester) -> dict[str, Any]:
        check_timeout(body)
        wanted_raw = check_user_device_map(body.get("device_keys"), "device_keys")
        wanted: dict[str, list[str]] = {}
        for user_id, device_ids in wanted_raw.items():
            if not isinstance(device_ids, list) or not all(isinstance(d, str) for d in device_ids):
                raise MatrixError(
                    400, "M_BAD_JSON", "device_keys values must be lists of device ids"
                )
            wanted[user_id] = device_ids
        if sum(max(1, len(d)) for d in wanted.values()) > MAX_KEYS_REQUESTED:
            raise invalid_param(f"At most {MAX_KEYS_REQUESTED} devices per query")
        local = {u: d for u, d in wanted.items() if self.is_local(u)}
        others = {u: d for u, d in wanted.items() if not self.is_local(u)}
        if self.remote is None or not others:
            result = await self.local_query(local, requester.user_id)
            result["failures"] = {}
            return result
        answers = await asyncio.gather(
            self.local_query(local, requester.user_id),
            self.remote.query(others, remote_timeout_seconds(body)),
        )
        result, remote = answers
        for field in ("device_keys", "master_keys", "self_signing_keys"):
            result[field].update(remote.get(field, {}))
        result["failures"] = remote.get("failures", {})
        await self._add_own_signatures(result["master_keys"], others, requester.user_id)
        return result

    async def _add_own_signatures(
        self, master_keys: dict[str, Any], user_ids: Iterable[str], viewer: str
    ) -> None:
        """The viewer's signatures (by their user-signing key) on other
        servers' users' master keys are kept here, shown to the viewer only."""
        wanted = [u for u in user_ids if u in master_keys]
        if not wanted:
            return
        copied: set[str] = set()
        for s in await self._storage.e2ee_keys.get_signatures(wanted):
            key = master_keys.get(s.user_id)
            if s.signer_user_id != viewer or not isinstance(key, dict):
                continue
            if f"ed25519:{s.key_id}" not in (key.get("keys") or {}):
                continue
            if s.user_id not in copied:
                # The answer may be a cached object that other viewers get too.
                key = master_keys[s.user_id] = copy.deepcopy(key)
                copied.add(s.user_id)
            merge_signatures(key, [s])

    async def local_query(
        self, wanted: dict[str, list[str]], viewer: str | None, *, with_names: bool = True
    ) -> dict[str, Any]:
        """Our users' keys as `viewer` may see them (`None`: another server,
        which is shown no user-signing keys and no one else's signatures)."""
        store = self._storage.e2ee_keys
        stored = await store.query_device_keys(wanted)
        signatures: dict[tuple[str, str], list[Signature]] = {}
        for s in await store.get_signatures(wanted):
            # Who verified whom is the verifier's business: a signature by
            # another user (their user-signing key) is shown to that user only.
            if s.signer_user_id in (s.user_id, viewer):
                signatures.setdefault((s.user_id, s.key_id), []).append(s)
        names = await self._display_names(stored) if with_names else {}
        device_keys: dict[str, dict[str, Any]] = {user_id: {} for user_id in wanted}
        for user_id, devices in stored.items():
            for device_id, text in devices.items():
                obj = merge_signatures(json_loads(text), signatures.get((user_id, device_id), ()))
                name = names.get((user_id, device_id))
                if name is not None:
                    obj.setdefault("unsigned", {})["device_display_name"] = name
                device_keys[user_id][device_id] = obj
        result: dict[str, Any] = {
            "device_keys": device_keys,
            "master_keys": {},
            "self_signing_keys": {},
        }
        user_signing: dict[str, Any] = {}
        for user_id, keys in (await store.get_cross_signing_keys(wanted)).items():
            for key_type, key in keys.items():
                obj = merge_signatures(
                    json_loads(key.key_json), signatures.get((user_id, key.public_key), ())
                )
                if key_type == "user_signing":
                    # Only its owner is shown their user-signing key.
                    if user_id == viewer:
                        user_signing[user_id] = obj
                else:
                    result[f"{key_type}_keys"][user_id] = obj
        if viewer is not None:
            result["user_signing_keys"] = user_signing
        return result

    async def _display_names(self, stored: dict[str, dict[str, str]]) -> dict[tuple[str, str], str]:
        names = {}
        for user_id, devices in stored.items():
            for device in await self._storage.users.list_devices(user_id):
                if device.device_id in devices and device.display_name:
                    names[(user_id, device.device_id)] = device.display_name
        return names

    # -- claim -----------------------------------------------------------------

    async def claim(self, body: dict[str, Any]) -> dict[str, Any]:
        check_timeout(body)
        requested = check_user_device_map(body.get("one_time_keys"), "one_time_keys")
        wanted: list[tuple[str, str, str]] = []
        others: dict[str, dict[str, str]] = {}
        for user_id, devices in requested.items():
            if not isinstance(devices, dict) or not all(
                isinstance(a, str) and a for a in devices.values()
            ):
                raise MatrixError(
                    400, "M_BAD_JSON", "one_time_keys values must map device ids to algorithms"
                )
            if self.is_local(user_id):
                wanted.extend((user_id, device_id, alg) for device_id, alg in devices.items())
            else:
                others[user_id] = devices
        if len(wanted) + sum(len(d) for d in others.values()) > MAX_KEYS_REQUESTED:
            raise invalid_param(f"At most {MAX_KEYS_REQUESTED} keys per claim")
        keys = await self.claim_local(wanted)
        failures: dict[str, Any] = {}
        if self.remote is not None and others:
            remote = await self.remote.claim(others, remote_timeout_seconds(body))
            keys.update(remote.get("one_time_keys", {}))
            failures = remote.get("failures", {})
        return {"one_time_keys": keys, "failures": failures}

    async def claim_local(
        self, wanted: list[tuple[str, str, str]]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        claimed = await self._storage.e2ee_keys.claim_keys(wanted)
        keys: dict[str, dict[str, dict[str, Any]]] = {}
        for key in claimed:
            self._counts.pop((key.user_id, key.device_id), None)
            if self.relay is not None:
                self.relay(key.user_id, key.device_id)
            keys.setdefault(key.user_id, {}).setdefault(key.device_id, {})[
                f"{key.algorithm}:{key.key_id}"
            ] = json_loads(key.key_json)
        return keys

    # -- devices gone ------------------------------------------------------------

    async def account_closed(self, user_id: str) -> None:
        for key in [k for k in self._counts if k[0] == user_id]:
            del self._counts[key]
        await self._device_lists.mark_changed(user_id)

    async def devices_removed(self, user_id: str, device_ids: list[str]) -> None:
        await self._storage.e2ee_keys.delete_devices(user_id, device_ids)
        for device_id in device_ids:
            self._counts.pop((user_id, device_id), None)
        await self._device_lists.mark_changed(user_id, device_ids, deleted=True)
