"""Answers on the fake unit of work: the referral moves on, the answer is published and audited, a retry
replays, a rejection is routed on."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from contracts.answers import Answer, FirstAppointment
from contracts.envelope import EventType
from contracts.release_notice import ReportingInstructions
from services.handover.domain.referrals import AnswerRefused
from services.handover.usecases.answers import (
    AnswerIn,
    AnswerOutcome,
    HandoverClosed,
    ReferralNotFound,
    answer_referral,
)
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, SOURCE, FakeHandoverUnitOfWork, opened, referral_to


async def answer(uow: FakeHandoverUnitOfWork, agency_code: str, referral_id: str, given: AnswerIn) -> AnswerOutcome:
    return await answer_referral(
        uow=uow,
        agency_code=agency_code,
        referral_id=referral_id,
        given=given,
        source=SOURCE,
        now=NOW,
        correlation_id="c-2",
    )


async def test_an_acceptance_is_recorded_published_and_audited() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    referral = referral_to(uow, "CMHT-DUR")
    at = datetime.combine(handover.release_date + timedelta(days=2), datetime.min.time()).replace(tzinfo=NOW.tzinfo)
    given = AnswerIn(Answer.ACCEPTED, first_appointment=FirstAppointment(at=at, place="Clinic"))

    outcome = await answer(uow, "CMHT-DUR", referral.id, given)

    assert (outcome.status, outcome.rerouted_to, outcome.replayed) == ("accepted", None, False)
    assert referral.status == "accepted" and referral.first_appointment_at == at
    [answered] = uow.events(EventType.REFERRAL_ANSWERED)
    assert answered["referral_id"] == referral.id and answered["answer"] == "accepted"
    [entry] = uow.audit.entries
    assert entry.action == "referral.answered" and entry.actor == "system:handover"
    assert uow.handovers.locked == [handover.id], "one change at a time per handover"


async def test_the_same_answer_again_replays_the_first_outcome_and_changes_nothing() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    await opened(uow, notice(establishment="DMI"))
    referral = referral_to(uow, "A99001")
    await answer(uow, "A99001", referral.id, AnswerIn(Answer.RECEIVED))
    staged = len(uow.outbox.events)

    again = await answer(uow, "A99001", referral.id, AnswerIn(Answer.RECEIVED))

    assert again.replayed and again.status == "received" and len(uow.outbox.events) == staged


async def test_a_rejection_goes_to_the_next_eligible_agency() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    await opened(uow, notice(establishment="DMI"))
    referral = referral_to(uow, "CMHT-DUR")

    outcome = await answer(uow, "CMHT-DUR", referral.id, AnswerIn(Answer.REJECTED, reason_code="capacity"))

    assert outcome.status == "rejected" and outcome.rerouted_to == "RECONNECT-DUR"
    [routed] = uow.events(EventType.REFERRAL_REROUTED)
    assert routed["rejected_by"] == "CMHT-DUR" and "capacity" in routed["reason"]
    assert referral_to(uow, "RECONNECT-DUR").status == "requested"


async def test_another_agencys_referral_is_not_found_and_a_closed_case_is_a_conflict() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    referral = referral_to(uow, "A99001")
    with pytest.raises(ReferralNotFound):
        await answer(uow, "CMHT-DUR", referral.id, AnswerIn(Answer.RECEIVED))
    handover.state = "withdrawn"
    with pytest.raises(HandoverClosed):
        await answer(uow, "A99001", referral.id, AnswerIn(Answer.RECEIVED))
    assert not uow.events(EventType.REFERRAL_ANSWERED)


async def test_probation_cannot_confirm_a_reporting_time_before_the_release() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    referral = referral_to(uow, "PDU-DUR")
    early = datetime.combine(handover.release_date - timedelta(days=1), datetime.min.time()).replace(tzinfo=NOW.tzinfo)
    reporting = ReportingInstructions(office="Durham Probation Office", report_at=early, practitioner="Duty officer")

    with pytest.raises(AnswerRefused) as refused:
        await answer(uow, "PDU-DUR", referral.id, AnswerIn(Answer.CONFIRMED, reporting_instructions=reporting))
    assert refused.value.field == "reporting_instructions.report_at" and uow.rolled_back
