"""One round's verdict, every branch: delivered, retried at a time, dead-lettered, failed for good (4xx, 410,
refused), and the pause of an endpoint failing for too long."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.domain.states import DeliveryStatus, EndpointEffect, EndpointStatus
from services.notifier.domain.verdict import (
    NOT_IN_DIRECTORY,
    AttemptResult,
    EndpointView,
    RetryPolicy,
    RoundVerdict,
    judge_round,
    refusal,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(schedule=[0, 60, 300], pause_after=timedelta(hours=24))
SEED = 20261123
HEALTHY = EndpointView()


def answered(status: int | None, error: str | None = None) -> AttemptResult:
    return AttemptResult(status, 12, error, None)


def verdict(
    last: AttemptResult | None,
    *,
    rounds: int = 0,
    endpoint: EndpointView = HEALTHY,
    retry_after: float | None = None,
    refused: str | None = None,
) -> RoundVerdict:
    print(f"jitter seed {SEED}")
    return judge_round(
        last=last,
        retry_after=retry_after,
        rounds_made=rounds,
        endpoint=endpoint,
        policy=POLICY,
        now=NOW,
        refused=refused,
        rng=random.Random(SEED),
    )


def test_a_2xx_is_delivered_and_counts_as_a_success_of_the_endpoint() -> None:
    found = verdict(answered(204))
    assert (found.status, found.endpoint, found.next_attempt_at, found.finished) == (
        DeliveryStatus.DELIVERED,
        EndpointEffect.SUCCESS,
        None,
        True,
    )


def test_a_5xx_is_retried_at_the_next_time_of_the_schedule_with_jitter() -> None:
    found = verdict(answered(503), rounds=0)
    assert found.status == DeliveryStatus.PENDING and found.endpoint == EndpointEffect.FAILURE
    assert found.next_attempt_at is not None
    assert NOW + timedelta(seconds=48) <= found.next_attempt_at <= NOW + timedelta(seconds=72)
    assert found.reason == "HTTP 503" and not found.finished


def test_retry_after_on_a_503_pushes_the_next_attempt() -> None:
    found = verdict(answered(503), retry_after=250.0)
    assert found.next_attempt_at is not None and found.next_attempt_at >= NOW + timedelta(seconds=250)


def test_a_connection_failure_is_retried_and_named() -> None:
    found = verdict(answered(None, "ConnectError"))
    assert found.status == DeliveryStatus.PENDING and found.reason == "ConnectError"


def test_a_spent_schedule_dead_letters() -> None:
    found = verdict(answered(500), rounds=2)
    assert found.status == DeliveryStatus.DEAD_LETTERED and found.reason == "schedule exhausted: HTTP 500"
    assert found.endpoint == EndpointEffect.FAILURE and found.next_attempt_at is None


@pytest.mark.parametrize("status", [400, 401, 422])
def test_a_4xx_fails_for_good_and_leaves_the_endpoint_alone(status: int) -> None:
    found = verdict(answered(status))
    assert found.status == DeliveryStatus.FAILED and found.endpoint is None and not found.pause_endpoint


def test_410_fails_for_good_and_disables_the_endpoint() -> None:
    found = verdict(answered(410))
    assert found.status == DeliveryStatus.FAILED and found.endpoint == EndpointEffect.GONE
    assert found.reason == "endpoint gone: HTTP 410"


def test_a_refused_round_fails_with_its_reason_and_no_endpoint_effect() -> None:
    assert refusal(None, in_directory=False) == NOT_IN_DIRECTORY
    disabled = EndpointView(EndpointStatus.DISABLED, reason="the endpoint answered 410 Gone")
    reason = refusal(disabled, in_directory=True)
    assert reason == "endpoint disabled: the endpoint answered 410 Gone"
    assert refusal(EndpointView(), in_directory=True) is None
    found = verdict(None, refused=reason)
    assert (found.status, found.reason, found.endpoint) == (DeliveryStatus.FAILED, reason, None)


def test_a_failure_pauses_an_active_endpoint_failing_for_longer_than_the_policy_allows() -> None:
    long_ago = EndpointView(EndpointStatus.ACTIVE, failing_since=NOW - timedelta(hours=25))
    assert verdict(answered(500), endpoint=long_ago).pause_endpoint
    assert verdict(answered(500), rounds=2, endpoint=long_ago).pause_endpoint, "a dead letter pauses too"
    recent = EndpointView(EndpointStatus.ACTIVE, failing_since=NOW - timedelta(hours=1))
    assert not verdict(answered(500), endpoint=recent).pause_endpoint
    assert not verdict(answered(500)).pause_endpoint, "the first failure starts the run"
    paused = EndpointView(EndpointStatus.PAUSED, failing_since=NOW - timedelta(days=3))
    assert not verdict(answered(500), endpoint=paused).pause_endpoint, "paused once"
    assert not verdict(answered(204), endpoint=long_ago).pause_endpoint, "a success ends the run"
