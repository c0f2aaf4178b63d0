"""When to try a failed push again: exponential back-off with jitter, or the
push service's own Retry-After when it gives one."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # the first try included
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the
        first). A Retry-After from the service wins, up to `max_delay_seconds`."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_seconds)
        backoff = self.base_delay_seconds * float(2 ** max(attempt - 1, 0))
        # Up to a quarter of jitter, so that a burst of failures does not retry
        # in lock-step.
        backoff *= 1 + random.random() / 4
        return min(backoff, self.max_delay_seconds)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
