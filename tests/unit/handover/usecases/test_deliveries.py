"""Delivery outcomes on the fake unit of work: noted on the referral; one that failed for good is routed on."""

from __future__ import annotations

from contracts.delivery import DeliveryOutcomeV1
from contracts.envelope import CloudEvent, EventType
from services.handover.adapters.tables import Handover
from services.handover.domain.outcomes import EscalationCause
from services.handover.usecases.deliveries import record_delivery_outcome
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, SOURCE, FakeHandoverUnitOfWork, event_of, opened, referral_to


def outcome(handover: Handover, agency_code: str, status: str) -> CloudEvent:
    data = DeliveryOutcomeV1(
        webhook_id="msg_1",
        source_event_id="e-1",
        event_type="handover.pack.issued",
        handover_id=handover.id,
        agency_code=agency_code,
        status=status,
        attempts=3,
        reason="410 Gone" if status != "delivered" else None,
    )
    kind = EventType.DELIVERY_SUCCEEDED if status == "delivered" else EventType.DELIVERY_FAILED
    return event_of(kind, data, subject=handover.prison_number)


async def test_a_delivered_referral_says_so() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))

    assert await record_delivery_outcome(
        uow=uow, event=outcome(handover, "A99001", "delivered"), source=SOURCE, now=NOW
    )
    referral = referral_to(uow, "A99001")
    assert (referral.delivery_status, referral.delivery_detail) == ("delivered", None)
    assert not uow.audit.entries


async def test_a_referral_that_failed_for_good_is_cancelled_and_routed_on_once() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    failed = outcome(handover, "CMHT-DUR", "failed")

    assert await record_delivery_outcome(uow=uow, event=failed, source=SOURCE, now=NOW)
    referral = referral_to(uow, "CMHT-DUR")
    assert (referral.status, referral.reason_code) == ("cancelled", "undeliverable")
    assert referral_to(uow, "RECONNECT-DUR").status == "requested"
    [entry] = uow.audit.entries
    assert entry.action == "referral.undelivered" and entry.details["rerouted_to"] == "RECONNECT-DUR"
    assert not await record_delivery_outcome(uow=uow, event=failed, source=SOURCE, now=NOW), "once"


async def test_a_referral_nobody_else_can_take_stays_open_and_is_kept_as_escalated() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    assert await record_delivery_outcome(uow=uow, event=outcome(handover, "CMHT-DUR", "failed"), source=SOURCE, now=NOW)
    assert uow.outcomes.escalations == {}, "re-routed, not escalated"
    failed = outcome(handover, "RECONNECT-DUR", "failed")

    assert await record_delivery_outcome(uow=uow, event=failed, source=SOURCE, now=NOW)
    referral = referral_to(uow, "RECONNECT-DUR")
    assert referral.status == "requested", "kept open: a replay may still deliver it"
    [kept] = uow.outcomes.escalations.values()
    assert (kept.escalation_id, kept.referral_id, kept.cause) == (failed.id, referral.id, EscalationCause.UNDELIVERABLE)
