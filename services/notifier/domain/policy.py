"""What an attempt's answer means, and when to try again. Pure: no I/O, no clock of its own."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum


class AnswerMeaning(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT_FAILURE = "permanent_failure"
    ENDPOINT_GONE = "endpoint_gone"


@dataclass(frozen=True)
class Judgement:
    """What one HTTP answer means for a delivery, with the wait the receiver asked for."""

    verdict: AnswerMeaning
    retry_after_seconds: float | None = None


RETRYABLE_4XX = {408, 409, 429}


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def judge(status_code: int | None, retry_after: float | None = None) -> Judgement:
    """2xx delivered; 410 endpoint gone; other 4xx (but 408, 409, 429) permanent; the rest retried.

    ``None`` means no answer (timeout, connection refused): retried. 3xx is a failure, never followed.
    """
    if status_code is None:
        return Judgement(AnswerMeaning.RETRY)
    if 200 <= status_code < 300:
        return Judgement(AnswerMeaning.DELIVERED)
    if status_code == 410:
        return Judgement(AnswerMeaning.ENDPOINT_GONE)
    if 400 <= status_code < 500 and status_code not in RETRYABLE_4XX:
        return Judgement(AnswerMeaning.PERMANENT_FAILURE)
    honoured = retry_after if status_code in (429, 503) else None
    return Judgement(AnswerMeaning.RETRY, honoured)


def next_delay(
    attempts_made: int, schedule: list[float], retry_after: float | None = None, rng: random.Random | None = None
) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` failures, or None when the schedule is spent.

    ``schedule[n]`` is the delay before attempt n+1 (Standard Webhooks: 0, 5 s, 5 min, ... 24 h), with
    +-20% jitter so that a recovering endpoint is not hit by every delivery at once. A ``Retry-After``
    longer than the scheduled delay wins, up to the longest delay of the schedule (a receiver cannot park a
    delivery for weeks with one header).
    """
    if attempts_made >= len(schedule):
        return None
    base = schedule[attempts_made]
    jittered = base * (rng or random).uniform(0.8, 1.2)
    honoured = min(retry_after or 0.0, max(schedule))
    return max(jittered, honoured)
