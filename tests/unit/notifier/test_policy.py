"""What an answer means and when to try again (pure)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from services.notifier.domain.policy import AnswerMeaning, judge, next_delay, parse_retry_after
from services.notifier.settings import STANDARD_WEBHOOKS_SCHEDULE


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert judge(status).verdict == AnswerMeaning.DELIVERED


@pytest.mark.parametrize("status", [301, 302, 307, 308, 500, 502, 503, 504, 408, 409, 429, None])
def test_3xx_5xx_timeouts_and_408_409_429_are_retried(status: int | None) -> None:
    assert judge(status).verdict == AnswerMeaning.RETRY


def test_410_means_the_endpoint_is_gone() -> None:
    assert judge(410).verdict == AnswerMeaning.ENDPOINT_GONE


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_other_4xx_fail_permanently(status: int) -> None:
    assert judge(status).verdict == AnswerMeaning.PERMANENT_FAILURE


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_on_429_and_503(status: int) -> None:
    assert judge(status, 120.0).retry_after_seconds == 120.0


def test_retry_after_is_ignored_on_other_answers() -> None:
    assert judge(500, 120.0).retry_after_seconds is None


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after(format_datetime(now + timedelta(minutes=2), usegmt=True), now) == 120.0
    assert parse_retry_after(format_datetime(now - timedelta(minutes=2), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_the_schedule_grows_with_jitter_and_ends() -> None:
    rng = random.Random(5)
    schedule = list(STANDARD_WEBHOOKS_SCHEDULE)
    for made in range(1, len(schedule)):
        delay = next_delay(made, schedule, rng=rng)
        assert delay is not None
        assert schedule[made] * 0.8 <= delay <= schedule[made] * 1.2
    assert next_delay(len(schedule), schedule) is None
    assert sum(schedule) > 2.5 * 86400, "about three days in all"


def test_a_longer_retry_after_wins_over_the_schedule_up_to_its_longest_delay() -> None:
    assert next_delay(1, [0, 5, 3600], retry_after=1800, rng=random.Random(1)) == 1800
    assert next_delay(1, [0, 5, 3600], retry_after=30 * 86400, rng=random.Random(1)) == 3600
    assert next_delay(2, [0, 5, 300], retry_after=1, rng=random.Random(1)) >= 240  # type: ignore[operator]
