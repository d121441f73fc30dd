"""Token buckets per client: bursts up to a limit, then a wait that Retry-After rounds up."""

from __future__ import annotations

import pytest

from services.common.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_next_request_waits_for_a_token() -> None:
    clock = FakeTime()
    limiter = RateLimiter(rate=2, burst=3, now=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [None, None, None]
    wait = limiter.acquire("a")
    assert wait is not None and abs(wait - 0.5) < 1e-9
    assert RateLimiter.retry_after_header(wait) == 1
    clock.now += 0.5
    assert limiter.acquire("a") is None


@pytest.mark.hazard("H13")
def test_clients_have_separate_buckets() -> None:
    limiter = RateLimiter(rate=1, burst=1, now=FakeTime())
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is not None
    assert limiter.acquire("b") is None


def test_tokens_never_pile_up_beyond_the_burst() -> None:
    clock = FakeTime()
    limiter = RateLimiter(rate=10, burst=2, now=clock)
    clock.now += 3600
    assert [limiter.acquire("a") is None for _ in range(3)] == [True, True, False]
