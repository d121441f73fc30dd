"""One dispatch round's outcome, decided in one place: given what the endpoint answered (or why nothing was
sent), what the notifier knows of the endpoint, the retry policy and the time, what is recorded.

Pure: the use case that records a round reads the endpoint's state in its transaction, asks :func:`judge_round`
and writes the whole verdict (attempts, delivery, endpoint, pause, events, audit) in that same transaction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notifier.domain.policy import AnswerMeaning, judge, next_delay
from services.notifier.domain.states import DeliveryStatus, EndpointEffect, EndpointStatus

NOT_IN_DIRECTORY = "agency no longer in the directory"


@dataclass(frozen=True)
class AttemptResult:
    """One HTTP attempt: its status (None when nothing answered), how long it took, what went wrong."""

    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True)
class EndpointView:
    """What the notifier's database knows of an endpoint when its round is recorded."""

    status: EndpointStatus = EndpointStatus.ACTIVE
    failing_since: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    schedule: list[float]
    pause_after: timedelta


@dataclass(frozen=True)
class RoundVerdict:
    status: DeliveryStatus
    reason: str | None = None
    next_attempt_at: datetime | None = None
    endpoint: EndpointEffect | None = None
    pause_endpoint: bool = False

    @property
    def finished(self) -> bool:
        return self.status != DeliveryStatus.PENDING


def refusal(endpoint: EndpointView | None, in_directory: bool) -> str | None:
    """Why nothing may be sent to this endpoint now (it left the directory, or 410 Gone disabled it)."""
    if not in_directory:
        return NOT_IN_DIRECTORY
    if endpoint is not None and endpoint.status == EndpointStatus.DISABLED:
        return f"endpoint disabled: {endpoint.reason or 'by an operator'}"
    return None


def judge_round(
    *,
    last: AttemptResult | None,
    retry_after: float | None,
    rounds_made: int,
    endpoint: EndpointView,
    policy: RetryPolicy,
    now: datetime,
    refused: str | None = None,
    rng: random.Random | None = None,
) -> RoundVerdict:
    """What a round means: delivered; failed for good (refused, 4xx, 410 Gone, which also disables the
    endpoint); retried at a time from the schedule; or dead-lettered when the schedule is spent. A failing
    endpoint that has had no success for ``policy.pause_after`` is paused too."""
    if refused is not None or last is None:
        return RoundVerdict(DeliveryStatus.FAILED, refused or NOT_IN_DIRECTORY)
    outcome = judge(last.status_code, retry_after)
    if outcome.verdict == AnswerMeaning.DELIVERED:
        return RoundVerdict(DeliveryStatus.DELIVERED, endpoint=EndpointEffect.SUCCESS)
    reason = last.error or f"HTTP {last.status_code}"
    if outcome.verdict == AnswerMeaning.ENDPOINT_GONE:
        return RoundVerdict(DeliveryStatus.FAILED, f"endpoint gone: {reason}", endpoint=EndpointEffect.GONE)
    if outcome.verdict == AnswerMeaning.PERMANENT_FAILURE:
        # The endpoint answered: it is alive, so neither the breaker nor the pause clock moves.
        return RoundVerdict(DeliveryStatus.FAILED, reason)
    failing_since = endpoint.failing_since or now
    pause = endpoint.status == EndpointStatus.ACTIVE and failing_since <= now - policy.pause_after
    delay = next_delay(rounds_made + 1, policy.schedule, outcome.retry_after_seconds, rng)
    if delay is None:
        return RoundVerdict(
            DeliveryStatus.DEAD_LETTERED, f"schedule exhausted: {reason}", None, EndpointEffect.FAILURE, pause
        )
    return RoundVerdict(DeliveryStatus.PENDING, reason, now + timedelta(seconds=delay), EndpointEffect.FAILURE, pause)
