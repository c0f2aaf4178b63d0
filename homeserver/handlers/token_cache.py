"""Verified access tokens, kept so that a token's next use costs neither a
signature check nor a database read.

A bounded LRU from the token's SHA-256 to the Requester it verified as and the
instant it stops being valid (the token's `exp` or the session's expiry,
whichever is first); an entry past that instant is never served. The stores
announce every session ended and every user changed (`storage/auth_changes.py`)
and the cache drops the user's (or the devices') entries at once.

Only this process's cache hears those announcements: with several server
processes they must be fanned out to every process (Redis pub/sub is the
planned seam, see `AuthChanges`). Used from the event loop thread only."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeserver.storage.auth_changes import AuthChange

if TYPE_CHECKING:
    from homeserver.handlers.tokens import Requester

DEFAULT_MAX_ENTRIES = 50_000


def cache_key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, slots=True)
class _Entry:
    requester: Requester
    valid_until_ms: int


class TokenCache:
    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._by_user: dict[str, set[bytes]] = {}
        # Bumped by every eviction: a verification that read the database
        # before it may have seen the session still live, and must not be kept.
        self._generation = 0
        # Off while a cluster worker is cut off from the others' sign-outs
        # (Redis away): every request then checks the database.
        self.enabled = True

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, key: bytes, now_ms: int) -> Requester | None:
        if not self.enabled:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.valid_until_ms <= now_ms:
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry.requester

    def put(
        self, key: bytes, requester: Requester, valid_until_ms: int, now_ms: int, generation: int
    ) -> None:
        """Keeps a verification that started at `generation`, unless something
        was evicted since or it has already expired."""
        if not self.enabled or generation != self._generation or valid_until_ms <= now_ms:
            return
        if key in self._entries:
            self._remove(key)
        self._entries[key] = _Entry(requester, valid_until_ms)
        self._by_user.setdefault(requester.user_id, set()).add(key)
        while len(self._entries) > self._max_entries:
            self._remove(next(iter(self._entries)))

    def evict(self, user_id: str, device_ids: frozenset[str] | None = None) -> None:
        """Drops the user's entries (only those of `device_ids` if given)."""
        self._generation += 1
        keys = self._by_user.get(user_id)
        if not keys:
            return
        for key in list(keys):
            if device_ids is None or self._entries[key].requester.device_id in device_ids:
                self._remove(key)

    def prune(self, now_ms: int) -> None:
        """Drops expired entries (they are never served, only take room)."""
        for key in [k for k, e in self._entries.items() if e.valid_until_ms <= now_ms]:
            self._remove(key)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._by_user.clear()

    def _remove(self, key: bytes) -> None:
        entry = self._entries.pop(key)
        keys = self._by_user[entry.requester.user_id]
        keys.discard(key)
        if not keys:
            del self._by_user[entry.requester.user_id]

    # -- AuthListener --------------------------------------------------------

    def auth_changed(self, change: AuthChange) -> None:
        self.evict(change.user_id, change.device_ids)

    def expired_purged(self, now_ms: int) -> None:
        self.prune(now_ms)
