"""Statistics the bench reports, kept pure so that they can be tested.

Percentiles use linear interpolation between closest ranks (the method NumPy
calls "linear" and spreadsheets call PERCENTILE.INC, Hyndman & Fan type 7):
for n sorted samples x[0..n-1] and p in [0, 100], h = (n - 1) * p / 100 and the
percentile is x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]).
So p0 is the minimum, p100 the maximum, p50 the usual median, and one sample is
every percentile of itself. An empty sample has no percentile (ValueError)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(samples: Iterable[float], p: float) -> float:
    """The p-th percentile (0 <= p <= 100) by linear interpolation."""
    if not 0.0 <= p <= 100.0 or math.isnan(p):
        raise ValueError(f"percentile must be within [0, 100], got {p}")
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    if any(math.isnan(x) for x in ordered):
        raise ValueError("samples contain NaN")
    h = (len(ordered) - 1) * p / 100.0
    lower = math.floor(h)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (h - lower) * (ordered[upper] - ordered[lower])


def median(samples: Iterable[float]) -> float:
    return percentile(samples, 50.0)


@dataclass(frozen=True)
class Summary:
    """Count and percentiles of one set of samples (None when there are none)."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    mean: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def summarize(samples: Sequence[float]) -> Summary:
    if not samples:
        return Summary(0, None, None, None, None, None)
    return Summary(
        count=len(samples),
        p50=percentile(samples, 50),
        p90=percentile(samples, 90),
        p99=percentile(samples, 99),
        max=max(samples),
        mean=math.fsum(samples) / len(samples),
    )


def median_of(values: Iterable[float | None]) -> float | None:
    """The median of the repeats that produced a value (None if none did)."""
    present = [v for v in values if v is not None]
    return median(present) if present else None


def ratio(ours: float | None, theirs: float | None) -> float | None:
    """ours / theirs, or None when either is missing or theirs is zero."""
    if ours is None or theirs is None or theirs == 0:
        return None
    return ours / theirs


def rate(count: int, seconds: float) -> float | None:
    """Events per second, or None over an empty interval."""
    if seconds <= 0:
        return None
    return count / seconds
