"""A round recorded in one unit of work: attempts, delivery state, endpoint state and pause, watch, outcome event
and audit all commit together."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.envelope import CloudEvent, EventType
from services.notifier.adapters.tables import EndpointState
from services.notifier.domain.agencies import Directory
from services.notifier.domain.states import DeliveryStatus, EndpointStatus
from services.notifier.domain.verdict import AttemptResult, RetryPolicy, RoundVerdict
from services.notifier.usecases.dispatch_round import claim_due, claim_round, record_round
from services.notifier.usecases.plan_deliveries import remember_handover
from tests.unit.notifier.usecases.conftest import T0, leased, pending
from tests.unit.notifier.usecases.fakes import FakeNotifierUow

POLICY = RetryPolicy(schedule=[0, 60, 300], pause_after=timedelta(hours=1))


async def round_answered(
    uow: FakeNotifierUow, directory: Directory, code: int, agency: str = "CMHT", after: timedelta = timedelta()
) -> RoundVerdict:
    delivery = leased(uow.deliveries.rows[0] if uow.deliveries.rows else pending(uow, agency))
    return await record_round(
        uow=uow,
        delivery=delivery,
        agency=directory.by_code(delivery.agency_code),
        directory=directory,
        attempts=[(T0 + after, AttemptResult(code, 9, None, "ok"))],
        retry_after=None,
        policy=POLICY,
        now=T0 + after,
        source="urn:test",
    )


async def test_a_delivered_referral_is_recorded_with_its_event_audit_endpoint_success_and_watch(
    uow: FakeNotifierUow, directory: Directory
) -> None:
    verdict = await round_answered(uow, directory, 204)
    [delivery] = uow.deliveries.rows
    assert verdict.status == delivery.status == DeliveryStatus.DELIVERED and uow.commits == 1
    assert delivery.attempt_count == 1 and delivery.rounds == 1 and delivery.finished_at == T0
    assert [a.status_code for a in uow.deliveries.attempts] == [204]
    assert [e.data["status"] for e in uow.outbox.of_type(EventType.DELIVERY_SUCCEEDED.value)] == ["delivered"]
    assert [entry.action for entry in uow.audit.entries] == ["delivery.finished"]
    assert uow.endpoints.states["CMHT"].last_success_at == T0
    assert uow.watches.rows[("h", "CMHT")].delivered_at == T0, "a CMHT referral awaits its answer"


async def test_a_retry_is_scheduled_without_an_event_and_starts_the_endpoints_run_of_failures(
    uow: FakeNotifierUow, directory: Directory
) -> None:
    verdict = await round_answered(uow, directory, 503)
    [delivery] = uow.deliveries.rows
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at == verdict.next_attempt_at
    assert delivery.lease_expires_at is None and delivery.last_error == "HTTP 503"
    assert uow.outbox.events == [] and uow.audit.entries == []
    assert uow.endpoints.states["CMHT"].failing_since == T0


async def test_a_spent_schedule_dead_letters_with_its_event(uow: FakeNotifierUow, directory: Directory) -> None:
    pending(uow, "CMHT").rounds = 2
    await round_answered(uow, directory, 500)
    assert uow.deliveries.rows[0].status == DeliveryStatus.DEAD_LETTERED
    assert len(uow.outbox.of_type(EventType.DELIVERY_DEAD_LETTERED.value)) == 1


async def test_410_fails_the_delivery_and_disables_the_endpoint_once_audited(
    uow: FakeNotifierUow, directory: Directory
) -> None:
    await round_answered(uow, directory, 410)
    assert uow.endpoints.states["CMHT"].status == EndpointStatus.DISABLED
    assert [row.action for row in uow.delivery_audit.rows] == ["endpoint_disabled"]
    assert len(uow.outbox.of_type(EventType.DELIVERY_FAILED.value)) == 1


async def test_a_refused_round_fails_without_attempts_or_endpoint_change(
    uow: FakeNotifierUow, directory: Directory
) -> None:
    delivery = leased(pending(uow, "GONE"))
    verdict = await record_round(
        uow=uow,
        delivery=delivery,
        agency=None,
        directory=directory,
        attempts=[],
        retry_after=None,
        policy=POLICY,
        now=T0,
        source="urn:test",
        refused="agency no longer in the directory",
    )
    assert verdict.status == delivery.status == DeliveryStatus.FAILED and delivery.rounds == 0
    assert uow.deliveries.attempts == [] and uow.endpoints.states == {}
    assert delivery.last_error == "agency no longer in the directory"


@pytest.mark.hazard("H25")
async def test_the_round_that_fails_for_too_long_pauses_the_endpoint_in_its_own_unit_of_work(
    uow: FakeNotifierUow, directory: Directory
) -> None:
    async with uow:
        event_data = {"handover_id": "h", "pack": {"release": {"date": "2026-12-10", "establishment_code": "HHI"}}}
        event = CloudEvent(
            id="e", source="s", type=EventType.HANDOVER_PACK_ISSUED.value, time=T0, subject="A1234BC", data=event_data
        )
        await remember_handover(uow, event=event, handover_id="h", now=T0)
    uow.endpoints.states["CMHT"] = EndpointState(
        agency_code="CMHT", status=EndpointStatus.ACTIVE, changed_at=T0, failing_since=T0 - timedelta(hours=2)
    )
    commits = uow.commits
    verdict = await round_answered(uow, directory, 503)
    assert verdict.pause_endpoint and uow.commits == commits + 1, "one unit of work for the round and the pause"
    assert uow.endpoints.states["CMHT"].status == EndpointStatus.PAUSED
    [paused] = [e for _, e in uow.outbox.events if e.type.endswith("endpoint.paused")]
    assert paused.data["establishments_told"] == ["HHI"] and paused.data["owner_contact"] == "cmht@example.org"
    assert [(d.agency_code, d.event_type) for d in uow.deliveries.rows[1:]] == [("HCC", "endpoint.paused")]
    again = await round_answered(uow, directory, 503, after=timedelta(minutes=5))
    assert not again.pause_endpoint, "paused once"


async def test_claim_leases_due_deliveries_in_order_and_holds_a_persons_later_message(uow: FakeNotifierUow) -> None:
    first, later, other = pending(uow, "CMHT"), pending(uow, "CMHT"), pending(uow, "GP")
    claimed = await claim_due(uow=uow, now=T0, limit=10, lease_seconds=60)
    assert claimed == [first, other] and first.lease_expires_at == T0 + timedelta(seconds=60)
    assert await claim_due(uow=uow, now=T0, limit=10, lease_seconds=60) == [], "leased"
    assert later.lease_expires_at is None


async def test_a_round_claims_and_reads_every_endpoints_state_in_one_unit_of_work(uow: FakeNotifierUow) -> None:
    uow.endpoints.states["GP"] = EndpointState(agency_code="GP", status=EndpointStatus.DISABLED, changed_at=T0)
    delivery, commits = pending(uow, "CMHT"), uow.commits
    states, claimed = await claim_round(uow=uow, now=T0, limit=10, lease_seconds=60)
    assert claimed == [delivery] and uow.commits == commits + 1
    assert states["GP"].status == EndpointStatus.DISABLED and "CMHT" not in states
