"""The per-endpoint circuit breaker (pure, on an injected time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.domain.breaker import BreakerState, CircuitBreaker

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def breaker() -> CircuitBreaker:
    return CircuitBreaker(threshold=3, cooldown=timedelta(seconds=30))


@pytest.mark.hazard("H30")
def test_it_opens_after_the_threshold_of_consecutive_failures() -> None:
    b = breaker()
    for _ in range(2):
        b.failed(T0)
    assert b.state(T0) == BreakerState.CLOSED and b.allowance(T0) is None
    b.failed(T0)
    assert b.state(T0) == BreakerState.OPEN and b.allowance(T0) == 0


def test_a_success_resets_the_count() -> None:
    b = breaker()
    b.failed(T0)
    b.failed(T0)
    b.succeeded()
    b.failed(T0)
    assert b.state(T0) == BreakerState.CLOSED


def test_after_the_cooldown_one_trial_goes_and_its_success_closes_it() -> None:
    b = breaker()
    for _ in range(3):
        b.failed(T0)
    later = T0 + timedelta(seconds=31)
    assert b.state(later) == BreakerState.HALF_OPEN and b.allowance(later) == 1
    b.started(later)
    assert b.allowance(later) == 0, "only one trial at a time"
    b.succeeded()
    assert b.state(later) == BreakerState.CLOSED


def test_a_failed_trial_opens_it_again() -> None:
    b = breaker()
    for _ in range(3):
        b.failed(T0)
    later = T0 + timedelta(seconds=31)
    b.started(later)
    b.failed(later)
    assert b.state(later) == BreakerState.OPEN
    assert b.state(later + timedelta(seconds=29)) == BreakerState.OPEN
