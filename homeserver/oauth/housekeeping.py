"""Periodic upkeep: rotating in a new access-token key when one is due (it is
published an hour before it signs), retiring keys whose tokens have all
expired, and deleting expired codes, grants and browser sessions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from homeserver.config import Config
from homeserver.handlers.keys import (
    LEGACY_TOKEN_KEY_FILE,
    TokenKeyRing,
    load_token_keys,
    save_token_keys,
)
from homeserver.oauth.service import OAuthService
from homeserver.util import now_ms

logger = logging.getLogger(__name__)

PREPUBLISH_SECONDS = 3600
INTERVAL_SECONDS = 600.0
FOLLOW_INTERVAL_SECONDS = 300.0


class Housekeeping:
    def __init__(
        self, config: Config, keys: TokenKeyRing, keys_path: Path, oauth: OAuthService
    ) -> None:
        self._config = config
        self._keys = keys
        self._keys_path = keys_path
        self._oauth = oauth
        self._task: asyncio.Task[None] | None = None
        # A cluster's leader tells the other workers to re-read the key file.
        self.on_keys_changed: Callable[[], None] | None = None

    async def run_once(self, now: int | None = None, *, starting: bool = False) -> None:
        now = now if now is not None else now_ms()
        alg = self._config.jwt_signing_alg
        changed = False
        if self._keys.rotation_due(now, self._config.jwt_rotation_days * 86400, alg):
            # A change of algorithm at start-up takes effect at once; a routine
            # rotation is published first, so that cached JWKS catch up.
            switch = starting and self._keys.signing_key(now).alg != alg
            self._keys.add(alg, now, 0 if switch else PREPUBLISH_SECONDS)
            changed = True
        if self._keys.prune(now):
            changed = True
        if changed:
            await asyncio.to_thread(save_token_keys, self._keys_path, self._keys)
            if self.on_keys_changed is not None:
                self.on_keys_changed()
        removed = await self._oauth.purge()
        if removed:
            logger.info("purged expired OAuth records", extra={"count": removed})

    async def start(self) -> None:
        await self.run_once(starting=True)
        self._task = asyncio.create_task(self._loop(), name="oauth-housekeeping")

    async def start_following(self) -> None:
        """A cluster worker that is not the leader: the leader rotates keys
        (published an hour before they sign) and purges; this one re-reads the
        key file often enough to know every key before it signs."""
        await self.reload_keys()
        self._task = asyncio.create_task(self._follow(), name="oauth-key-reload")

    async def reload_keys(self) -> None:
        ring = await asyncio.to_thread(
            load_token_keys,
            self._keys_path,
            self._keys_path.with_name(LEGACY_TOKEN_KEY_FILE),
            self._keys.max_lifetime_seconds,
        )
        self._keys.replace_with(ring)

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(FOLLOW_INTERVAL_SECONDS)
            try:
                await self.reload_keys()
            except Exception:
                logger.exception("reading the access-token keys failed")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            try:
                await self.run_once()
            except Exception:
                logger.exception("OAuth housekeeping failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
