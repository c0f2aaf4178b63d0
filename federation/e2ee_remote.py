"""Other servers' users' keys, for our clients' /keys/query and /keys/claim
(the E2EE handlers' `RemoteKeys` seam): one signed request per server, all at
once, each within the client's time limit; a server that does not answer in
time (or answers with an error) is named in `failures`.

Once a remote user's whole device list has been asked for (an empty list of
devices) while they share a room with one of our users, it is fetched through
`/user/devices` and cached, since their server then sends us
`m.device_list_update` EDUs: an update whose `prev_id`s we have seen is
applied to the cached list; one that refers to an update we never saw drops
the entry and fetches the list again. The cache
is in memory (a restart starts empty) and entries expire after
`CACHE_SECONDS` in case an update was lost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from federation.client import FederationClient, FederationRequestError, quote_segment
from homeserver.events.identifiers import server_name_of
from homeserver.server import HomeServer

logger = logging.getLogger(__name__)

USER_KEYS = "/_matrix/federation/v1/user/keys"
USER_DEVICES = "/_matrix/federation/v1/user/devices"
CACHE_SECONDS: Final = 600.0
MAX_CACHED_USERS: Final = 10_000
# `prev_id`s remembered per user (ids older than these are "unknown": a resync).
MAX_STREAM_IDS: Final = 50


@dataclass
class CachedDevices:
    devices: dict[str, dict[str, Any]]
    master_key: dict[str, Any] | None
    self_signing_key: dict[str, Any] | None
    stream_ids: list[int] = field(default_factory=list)
    fetched_at: float = field(default_factory=time.monotonic)

    def saw(self, stream_id: int) -> None:
        self.stream_ids.append(stream_id)
        del self.stream_ids[:-MAX_STREAM_IDS]


def _failure(message: str, status: int = 503) -> dict[str, Any]:
    return {"status": status, "message": message}


def _users_of(server: str, value: Any) -> dict[str, Any]:
    """The entries of an answer's user map that belong to `server`'s users."""
    if not isinstance(value, dict):
        return {}
    return {
        user_id: item
        for user_id, item in value.items()
        if isinstance(user_id, str)
        and user_id.startswith("@")
        and ":" in user_id
        and server_name_of(user_id) == server
        and isinstance(item, dict)
    }


def _device_map(user_id: str, value: Any) -> dict[str, dict[str, Any]]:
    """A user's devices from an answer: only objects naming that user and device."""
    if not isinstance(value, dict):
        return {}
    return {
        device_id: keys
        for device_id, keys in value.items()
        if isinstance(keys, dict)
        and keys.get("user_id") == user_id
        and keys.get("device_id") == device_id
    }


def _cross_signing_key(user_id: str, value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and value.get("user_id") == user_id:
        return value
    return None


class RemoteKeys:
    def __init__(self, homeserver: HomeServer, client: FederationClient) -> None:
        self._hs = homeserver
        self._client = client
        self._cache: OrderedDict[str, CachedDevices] = OrderedDict()
        self._resyncs: dict[str, asyncio.Task[None]] = {}
        # Updates received per user while a fetch of their list is running:
        # the fetched list may predate them, so it is not kept.
        self._updates_during_fetch: dict[str, int] = {}
        self.requests = 0  # requests sent (tests read it to see the cache work)

    # -- the seam --------------------------------------------------------------

    async def query(self, wanted: dict[str, list[str]], time_limit: float) -> dict[str, Any]:
        result: dict[str, Any] = {
            "device_keys": {},
            "master_keys": {},
            "self_signing_keys": {},
            "failures": {},
        }
        to_ask: dict[str, dict[str, list[str]]] = {}
        for user_id, device_ids in wanted.items():
            if not user_id.startswith("@") or ":" not in user_id:
                continue
            cached = self._cached(user_id)
            if cached is not None and not await self._tracked(user_id):
                self.forget(user_id)  # no more updates come: no longer cached
                cached = None
            if cached is not None:
                self._answer_from(result, user_id, cached, device_ids)
            else:
                to_ask.setdefault(server_name_of(user_id), {})[user_id] = device_ids
        answers = await asyncio.gather(
            *(self._query_server(server, users, time_limit) for server, users in to_ask.items())
        )
        for server, answer in zip(to_ask, answers, strict=True):
            if isinstance(answer, str):
                result["failures"][server] = _failure(answer)
                continue
            users = to_ask[server]
            for user_id in users:
                devices = _device_map(
                    user_id, _users_of(server, answer.get("device_keys")).get(user_id)
                )
                master = _cross_signing_key(
                    user_id, _users_of(server, answer.get("master_keys")).get(user_id)
                )
                self_signing = _cross_signing_key(
                    user_id, _users_of(server, answer.get("self_signing_keys")).get(user_id)
                )
                result["device_keys"][user_id] = devices
                if master is not None:
                    result["master_keys"][user_id] = master
                if self_signing is not None:
                    result["self_signing_keys"][user_id] = self_signing
                if not users[user_id] and await self._tracked(user_id):
                    # Cached from /user/devices, whose stream_id the next
                    # updates will refer to.
                    self.resync_soon(user_id)
        return result

    async def claim(self, wanted: dict[str, dict[str, str]], time_limit: float) -> dict[str, Any]:
        by_server: dict[str, dict[str, dict[str, str]]] = {}
        for user_id, devices in wanted.items():
            if user_id.startswith("@") and ":" in user_id:
                by_server.setdefault(server_name_of(user_id), {})[user_id] = devices
        answers = await asyncio.gather(
            *(
                self._post(server, f"{USER_KEYS}/claim", {"one_time_keys": users}, time_limit)
                for server, users in by_server.items()
            )
        )
        keys: dict[str, Any] = {}
        failures: dict[str, Any] = {}
        for server, answer in zip(by_server, answers, strict=True):
            if isinstance(answer, str):
                failures[server] = _failure(answer)
                continue
            for user_id, devices in _users_of(server, answer.get("one_time_keys")).items():
                if user_id not in by_server[server]:
                    continue
                asked = by_server[server][user_id]
                keys[user_id] = {
                    device_id: claimed
                    for device_id, claimed in devices.items()
                    if device_id in asked and isinstance(claimed, dict)
                }
        return {"one_time_keys": keys, "failures": failures}

    # -- device list updates ---------------------------------------------------

    def apply_update(
        self,
        user_id: str,
        device_id: str,
        stream_id: int,
        prev_ids: Iterable[int],
        keys: dict[str, Any] | None,
        deleted: bool,
    ) -> bool:
        """An `m.device_list_update`; False when the cached list could not be
        brought up to date from it (it refers to an update we never saw) and
        must be fetched again. Without a cached list there is nothing to do:
        the next query asks the user's server."""
        if user_id in self._updates_during_fetch:
            self._updates_during_fetch[user_id] += 1
        cached = self._cached(user_id)
        if cached is None:
            return True
        if not all(prev in cached.stream_ids for prev in prev_ids):
            self.forget(user_id)
            return False
        if deleted:
            cached.devices.pop(device_id, None)
        elif keys is not None:
            cached.devices[device_id] = keys
        cached.saw(stream_id)
        return True

    def apply_signing_keys(
        self, user_id: str, master: dict[str, Any] | None, self_signing: dict[str, Any] | None
    ) -> None:
        if user_id in self._updates_during_fetch:
            self._updates_during_fetch[user_id] += 1
        cached = self._cached(user_id)
        if cached is None:
            return
        if master is not None:
            cached.master_key = master
        if self_signing is not None:
            cached.self_signing_key = self_signing

    def forget(self, user_id: str) -> None:
        self._cache.pop(user_id, None)

    def resync_soon(self, user_id: str) -> None:
        """Fetches the user's device list again in the background (once at a time)."""
        running = self._resyncs.get(user_id)
        if running is not None and not running.done():
            return
        self._resyncs[user_id] = asyncio.create_task(self.resync(user_id))

    async def resync(self, user_id: str) -> None:
        """`GET /user/devices/{userId}` into the cache (while the user is tracked)."""
        server = server_name_of(user_id)
        self.requests += 1
        self._updates_during_fetch[user_id] = 0
        try:
            answer = await self._client.get_json(server, f"{USER_DEVICES}/{quote_segment(user_id)}")
        except FederationRequestError as exc:
            logger.info("device list resync failed", extra={"user_id": user_id, "error": str(exc)})
            return
        finally:
            raced = self._updates_during_fetch.pop(user_id, 0) > 0
        if raced:
            return  # the list may predate an update: the next query fetches again
        if not isinstance(answer, dict) or answer.get("user_id") != user_id:
            return
        devices: dict[str, dict[str, Any]] = {}
        for device in answer.get("devices") or []:
            if isinstance(device, dict) and isinstance(device.get("device_id"), str):
                keys = device.get("keys")
                if isinstance(keys, dict) and keys.get("user_id") == user_id:
                    devices[device["device_id"]] = keys
        entry = CachedDevices(
            devices,
            _cross_signing_key(user_id, answer.get("master_key")),
            _cross_signing_key(user_id, answer.get("self_signing_key")),
        )
        stream_id = answer.get("stream_id")
        if isinstance(stream_id, int):
            entry.saw(stream_id)
        if await self._tracked(user_id):
            self._store(user_id, entry)
            logger.info(
                "remote device list fetched",
                extra={"user_id": user_id, "devices": len(devices), "stream_id": stream_id},
            )

    async def stop(self) -> None:
        tasks = [t for t in self._resyncs.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- internals -------------------------------------------------------------

    def _cached(self, user_id: str) -> CachedDevices | None:
        cached = self._cache.get(user_id)
        if cached is None:
            return None
        if time.monotonic() - cached.fetched_at > CACHE_SECONDS:
            self.forget(user_id)
            return None
        self._cache.move_to_end(user_id)
        return cached

    def _store(self, user_id: str, entry: CachedDevices) -> None:
        self._cache[user_id] = entry
        self._cache.move_to_end(user_id)
        while len(self._cache) > MAX_CACHED_USERS:
            self._cache.popitem(last=False)

    async def _tracked(self, user_id: str) -> bool:
        """Whether the user's server sends us their device list updates: they
        share a room with us."""
        return bool(await self._hs.user_rooms.rooms_for_user(user_id))

    @staticmethod
    def _answer_from(
        result: dict[str, Any], user_id: str, cached: CachedDevices, device_ids: list[str]
    ) -> None:
        devices = cached.devices
        if device_ids:
            devices = {d: k for d, k in devices.items() if d in device_ids}
        result["device_keys"][user_id] = dict(devices)
        if cached.master_key is not None:
            result["master_keys"][user_id] = cached.master_key
        if cached.self_signing_key is not None:
            result["self_signing_keys"][user_id] = cached.self_signing_key

    async def _query_server(
        self, server: str, users: dict[str, list[str]], time_limit: float
    ) -> dict[str, Any] | str:
        return await self._post(server, f"{USER_KEYS}/query", {"device_keys": users}, time_limit)

    async def _post(
        self, server: str, path: str, body: dict[str, Any], time_limit: float
    ) -> dict[str, Any] | str:
        """The server's answer, or why there is none."""
        self.requests += 1
        try:
            async with asyncio.timeout(time_limit):
                answer = await self._client.post_json(server, path, body)
        except TimeoutError:
            return f"{server} did not answer in time"
        except FederationRequestError as exc:
            logger.info("remote key request failed", extra={"server": server, "error": str(exc)})
            return str(exc)
        if not isinstance(answer, dict):
            return f"{server} gave a malformed answer"
        return answer
