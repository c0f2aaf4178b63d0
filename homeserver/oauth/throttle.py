"""Failed sign-in attempts, limited per key (IP address, user name): a token
bucket that only failures drain, so people who type their password right are
never slowed down."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class FailureThrottle:
    def __init__(self, per_second: float, burst: int, *, enabled: bool = True) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._enabled = enabled
        self._buckets: dict[str, _Bucket] = {}

    def _refill(self, key: str, now: float) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
            if bucket.tokens >= self._burst:
                del self._buckets[key]
                return None
        return bucket

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before another attempt may be made (0: go ahead)."""
        if not self._enabled:
            return 0
        now = time.monotonic()
        wait = 0.0
        for key in keys:
            bucket = self._refill(key, now)
            if bucket is not None and bucket.tokens < 1:
                wait = max(wait, (1 - bucket.tokens) / self._rate)
        return math.ceil(wait)

    def failed(self, *keys: str) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        for key in keys:
            bucket = self._refill(key, now) or self._buckets.setdefault(
                key, _Bucket(self._burst, now)
            )
            bucket.tokens = max(0.0, bucket.tokens - 1)
        if len(self._buckets) > 100_000:
            self._buckets = {k: b for k, b in self._buckets.items() if b.tokens < self._burst}
