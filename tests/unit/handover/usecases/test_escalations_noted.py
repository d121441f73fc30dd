"""Escalations kept for the outcomes dataset, on the fake unit of work: the notifier's deadline escalations and a
pack nobody else can take; the report counts each escalated referral once."""

from __future__ import annotations

from datetime import timedelta

from contracts.delivery import (
    REFERRAL_ESCALATED_SCHEMA,
    DeliveryEventType,
    EscalationDeadline,
    OutstandingReferral,
    ReferralEscalatedV1,
)
from contracts.envelope import CloudEvent
from services.handover.adapters.tables import Handover
from services.handover.domain.outcomes import Ending, EscalationCause, Measure, ReferralOutcome
from services.handover.domain.readiness import ReadinessFacts
from services.handover.usecases.escalations_noted import note_deadline_escalation
from services.handover.usecases.outcomes import CaseAtEnd, ReportScope, keep_outcome, outcomes_report
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, FakeHandoverUnitOfWork, opened, referral_to

LATER = NOW + timedelta(hours=72)


def escalation(
    handover_id: str, deadline: EscalationDeadline, *agencies: str, escalation_id: str = "esc-1"
) -> CloudEvent:
    data = ReferralEscalatedV1(
        escalation_id=escalation_id,
        handover_id=handover_id,
        agency_code=agencies[0],
        agency_kind="gp_practice",
        deadline=deadline,
        due_at=LATER,
        delivered_at=NOW,
        escalated_at=LATER,
        told=["RECONNECT-DUR"],
        outstanding=[
            OutstandingReferral(agency_code=a, agency_kind="k", item="gp", delivered_at=NOW, due_at=LATER)
            for a in agencies
        ],
    )
    return CloudEvent(
        id=f"event-{escalation_id}",
        source="urn:test",
        type=DeliveryEventType.REFERRAL_ESCALATED.value,
        time=LATER,
        subject="A1234BC",
        dataschema=REFERRAL_ESCALATED_SCHEMA,
        data=data.model_dump(mode="json"),
    )


async def opened_case() -> tuple[FakeHandoverUnitOfWork, Handover]:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    return uow, await opened(uow, notice(establishment="DMI"))


async def test_a_deadline_escalation_keeps_each_open_referral_it_names_once() -> None:
    uow, handover = await opened_case()
    gp, cmht = referral_to(uow, "A99001"), referral_to(uow, "CMHT-DUR")
    event = escalation(handover.id, EscalationDeadline.AFTER_DELIVERY, "A99001", "CMHT-DUR")

    assert await note_deadline_escalation(uow=uow, event=event)
    assert uow.committed
    kept = {(e.referral_id, e.agency_code, e.cause, e.escalated_at) for e in uow.outcomes.escalations.values()}
    assert kept == {
        (gp.id, "A99001", EscalationCause.AFTER_DELIVERY, LATER),
        (cmht.id, "CMHT-DUR", EscalationCause.AFTER_DELIVERY, LATER),
    }
    assert not await note_deadline_escalation(uow=uow, event=event), "the same event twice is kept once"
    assert len(uow.outcomes.escalations) == 2


async def test_only_open_referrals_of_a_known_handover_are_kept() -> None:
    uow, handover = await opened_case()
    referral_to(uow, "CMHT-DUR").status = "completed"
    event = escalation(handover.id, EscalationDeadline.BEFORE_RELEASE, "CMHT-DUR")
    assert not await note_deadline_escalation(uow=uow, event=event)
    unknown = escalation("no-such-handover", EscalationDeadline.BEFORE_RELEASE, "A99001", escalation_id="esc-2")
    assert not await note_deadline_escalation(uow=uow, event=unknown)
    assert uow.outcomes.escalations == {}


async def test_the_report_counts_a_referral_escalated_at_both_deadlines_once() -> None:
    uow, handover = await opened_case()
    gp, cmht = referral_to(uow, "A99001"), referral_to(uow, "CMHT-DUR")
    for deadline, escalation_id in [
        (EscalationDeadline.AFTER_DELIVERY, "esc-1"),
        (EscalationDeadline.BEFORE_RELEASE, "esc-2"),
    ]:
        event = escalation(handover.id, deadline, "A99001", escalation_id=escalation_id)
        assert await note_deadline_escalation(uow=uow, event=event)
    facts = ReadinessFacts(
        release_date=LATER.date(), registration_needed=False, medications=[], needs=frozenset(), referrals=[]
    )
    uow.outcomes.cases[handover.id] = CaseAtEnd(handover.id, "A1234BC", "DMI", facts)
    assert await keep_outcome(uow=uow, handover_id=handover.id, ending=Ending.RELEASED, now=LATER)
    uow.outcomes.referrals = [
        ReferralOutcome(handover.id, "A99001", "gp_practice", referral_id=gp.id),
        ReferralOutcome(handover.id, "CMHT-DUR", "community_mental_health_team", referral_id=cmht.id),
    ]
    month = LATER.date().replace(day=1)
    figures = await outcomes_report(
        uow=uow, first_month=month, last_month=month, scope=ReportScope(None, None, releases=False)
    )
    # Two escalations of the GP referral, none of the mental health team's: one referral escalated, at the GP.
    counts = {f.agency: f.count for f in figures if f.measure == Measure.ESCALATIONS}
    assert counts == {"A99001": 1}
