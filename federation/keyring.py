"""Other servers' signing keys: fetched from each server's own
`/_matrix/key/v2/server`, verified, kept in the database with their validity
(old keys too) and in memory.

A request signed with a key we do not hold (or no longer trust) makes us
fetch the origin's keys again, at most once per `REFETCH_INTERVAL_MS` per
server, so that a stream of forged key ids cannot make us hammer a server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from federation.key_documents import KeyDocumentError, VerifiedKeyDocument, verify_key_document
from homeserver.events import decode_verify_key
from homeserver.storage.server_keys import ServerKeyStore, StoredKeyResponse, StoredServerKey

logger = logging.getLogger(__name__)

REFETCH_INTERVAL_MS: Final = 60_000
# Origins are chosen by whoever sends a request: bound what is kept in memory
# (the database keeps every verified key).
MAX_CACHED_SERVERS: Final = 10_000

KeyFetcher = Callable[[str], Awaitable[Any]]


class KeyFetchError(Exception):
    """The server's keys could not be fetched or were not trustworthy."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class Keyring:
    def __init__(
        self,
        store: ServerKeyStore,
        fetch: KeyFetcher,
        own_name: str,
        own_keys: dict[str, Ed25519PublicKey],
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        self._store = store
        self._fetch = fetch
        self._own_name = own_name
        self._own_keys = own_keys
        self._clock = clock
        self._cache: dict[str, dict[str, StoredServerKey]] = {}
        self._last_fetch: dict[str, int] = {}
        self._fetching: dict[str, asyncio.Task[VerifiedKeyDocument]] = {}

    async def key_for_request(self, server_name: str, key_id: str) -> Ed25519PublicKey | None:
        """The key a request from `server_name` signed with `key_id` must
        verify against: one the server currently publishes and that is still
        valid now; None if there is none (after fetching, if due)."""
        if server_name == self._own_name:
            return self._own_keys.get(key_id)
        now = self._clock()
        key = (await self._cached(server_name)).get(key_id)
        if key is None or key.expired_ts is not None or key.valid_until_ts < now:
            if not self._fetch_due(server_name, now):
                return None
            try:
                await self.refresh(server_name)
            except KeyFetchError as exc:
                logger.info(
                    "could not fetch server keys", extra={"server": server_name, "error": str(exc)}
                )
                return None
            key = (await self._cached(server_name)).get(key_id)
            if key is None or key.expired_ts is not None or key.valid_until_ts < now:
                return None
        return decode_verify_key(key.verify_key)

    async def key_valid_at(self, server_name: str, key_id: str, ts: int) -> Ed25519PublicKey | None:
        """A key that was valid at `ts` (for checking events signed then):
        current keys up to their validity, old keys until they expired."""
        if server_name == self._own_name:
            return self._own_keys.get(key_id)
        key = (await self._cached(server_name)).get(key_id)
        stale = key is None or key.valid_until_ts < ts
        if stale and self._fetch_due(server_name, self._clock()):
            try:
                await self.refresh(server_name)
            except KeyFetchError:
                return None
            key = (await self._cached(server_name)).get(key_id)
        if key is None or key.valid_until_ts < ts:
            return None
        return decode_verify_key(key.verify_key)

    async def refresh(self, server_name: str) -> VerifiedKeyDocument:
        """Fetches the server's keys now (one fetch at a time per server),
        verifies and stores them. Raises KeyFetchError."""
        running = self._fetching.get(server_name)
        if running is None:
            running = asyncio.create_task(self._fetch_and_store(server_name))
            self._fetching[server_name] = running
            running.add_done_callback(lambda _: self._fetching.pop(server_name, None))
        return await asyncio.shield(running)

    @staticmethod
    def _bounded(cache: dict[str, Any]) -> None:
        if len(cache) >= MAX_CACHED_SERVERS:
            cache.pop(next(iter(cache)))

    def _fetch_due(self, server_name: str, now: int) -> bool:
        last = self._last_fetch.get(server_name)
        return server_name in self._fetching or last is None or now - last >= REFETCH_INTERVAL_MS

    async def _fetch_and_store(self, server_name: str) -> VerifiedKeyDocument:
        now = self._clock()
        self._bounded(self._last_fetch)
        self._last_fetch[server_name] = now
        try:
            document = await self._fetch(server_name)
        except Exception as exc:
            raise KeyFetchError(f"fetching the keys of {server_name} failed: {exc}") from exc
        try:
            verified = verify_key_document(document, server_name, now)
        except KeyDocumentError as exc:
            raise KeyFetchError(f"the keys of {server_name} are not valid: {exc}") from exc
        rows = [
            StoredServerKey(
                server_name, k.key_id, k.verify_key, k.valid_until_ts, k.expired_ts, now
            )
            for k in verified.keys
        ]
        response = StoredKeyResponse(
            server_name, orjson.dumps(document).decode(), verified.valid_until_ts, now
        )
        await self._store.save(rows, response)
        self._cache.pop(server_name, None)  # read back whole, old keys included
        logger.info(
            "fetched server keys",
            extra={"server": server_name, "key_ids": [k.key_id for k in verified.keys]},
        )
        return verified

    async def _cached(self, server_name: str) -> dict[str, StoredServerKey]:
        cached = self._cache.get(server_name)
        if cached is None:
            cached = {key.key_id: key for key in await self._store.get_keys(server_name)}
            self._bounded(self._cache)
            self._cache[server_name] = cached
        return cached
