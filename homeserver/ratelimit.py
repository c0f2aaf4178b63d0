"""Token-bucket rate limits, in memory, keyed by whatever the caller chooses
(user id, IP address)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from homeserver.errors import limit_exceeded


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_second: float, burst: int, *, enabled: bool = True) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._enabled = enabled
        self._buckets: dict[str, _Bucket] = {}

    def check(self, key: str) -> None:
        """Takes one token for `key` or raises M_LIMIT_EXCEEDED with the wait."""
        if not self._enabled:
            return
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            if len(self._buckets) > 100_000:
                self._prune(now)
            return
        wait_seconds = (1 - bucket.tokens) / self._rate
        raise limit_exceeded(int(wait_seconds * 1000) + 1)

    def _prune(self, now: float) -> None:
        full_after = self._burst / self._rate
        stale = [k for k, b in self._buckets.items() if now - b.updated > full_after]
        for key in stale:
            del self._buckets[key]
