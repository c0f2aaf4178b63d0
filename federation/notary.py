"""Key queries answered as a notary (`/_matrix/key/v2/query`): our own key
answer, or another server's last verified answer — fetched anew when it is
missing or not valid long enough — counter-signed with our key."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.key_documents import own_key_document
from federation.keyring import KeyFetchError, Keyring
from homeserver.events import sign_json
from homeserver.storage.server_keys import ServerKeyStore

logger = logging.getLogger(__name__)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Notary:
    def __init__(
        self,
        store: ServerKeyStore,
        keyring: Keyring,
        server_name: str,
        key_id: str,
        key: Ed25519PrivateKey,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._server_name = server_name
        self._key_id = key_id
        self._key = key
        self._clock = clock

    def own_keys(self) -> dict[str, Any]:
        return own_key_document(self._server_name, self._key_id, self._key, self._clock())

    async def query(
        self, server_name: str, minimum_valid_until_ts: int | None
    ) -> list[dict[str, Any]]:
        """The server's key answers (none if it is unreachable and we hold none)."""
        if server_name == self._server_name:
            return [self.own_keys()]
        minimum = self._clock() if minimum_valid_until_ts is None else minimum_valid_until_ts
        stored = await self._store.get_response(server_name)
        if stored is None or stored.valid_until_ts < minimum:
            try:
                await self._keyring.refresh(server_name)
            except KeyFetchError as exc:
                logger.info("notary fetch failed", extra={"server": server_name, "error": str(exc)})
            stored = await self._store.get_response(server_name) or stored
        if stored is None:
            return []
        document = orjson.loads(stored.response_json)
        return [sign_json(document, self._server_name, self._key_id, self._key)]
