"""Per-client rate limits: a token bucket per API client, answered with 429 and Retry-After when empty.

The buckets live in each replica's memory, so the limit a client meets is per replica: with N replicas behind
a load balancer it may reach N times the rate. That is deliberate: a shared counter would put a database or a
cache in every request's path for a control whose job is to stop one runaway client swamping a replica, not to
meter it exactly. A gateway in front of the replicas enforces a global quota where one is needed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``rate`` requests per second on average, bursts of up to ``burst``; one bucket per key."""

    def __init__(
        self, *, rate: float, burst: int, now: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._rate = rate
        self._burst = burst
        self._now = now
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, key: str) -> float | None:
        """Take one token for ``key``: None when allowed, else the seconds until one is available."""
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._buckets.clear()  # bounded memory; a reset only ever lets clients through
            bucket = self._buckets[key] = _Bucket(tokens=float(self._burst), updated=now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self._rate

    @staticmethod
    def retry_after_header(wait_seconds: float) -> int:
        """Whole seconds for ``Retry-After`` (never 0, which would invite an immediate retry)."""
        return max(1, math.ceil(wait_seconds))
