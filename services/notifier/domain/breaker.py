"""A circuit breaker per endpoint: after a run of failed attempts, stop sending to it for a while.

Closed: attempts flow. After ``threshold`` consecutive failures it opens: no attempt is started (the
deliveries stay due and are simply not claimed, so no round of their schedule is spent). After ``cooldown``
it is half-open: one trial attempt goes; success closes it, failure opens it again. Pure and in memory, on
the injectable clock: each replica keeps its own, which is what a breaker is for (protecting this sender's
time); what must survive a restart (disabled and paused endpoints) lives in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    threshold: int
    cooldown: timedelta
    failures: int = 0
    opened_at: datetime | None = None
    trial_in_flight: bool = False

    def state(self, now: datetime) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if now - self.opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allowance(self, now: datetime) -> int | None:
        """How many new attempts may start now: None for no limit of the breaker's own, else 0 or 1."""
        state = self.state(now)
        if state == BreakerState.CLOSED:
            return None
        if state == BreakerState.HALF_OPEN and not self.trial_in_flight:
            return 1
        return 0

    def started(self, now: datetime) -> None:
        if self.state(now) == BreakerState.HALF_OPEN:
            self.trial_in_flight = True

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_in_flight = False

    def failed(self, now: datetime) -> None:
        self.failures += 1
        was_trial = self.trial_in_flight
        self.trial_in_flight = False
        if was_trial or self.failures >= self.threshold:
            self.opened_at = now
