"""An agency answers its referral. A rejection is re-routed to the next eligible agency, or, when there is
none, escalated to the prison healthcare contact and RECONNECT: a referral is never dropped."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from contracts.answers import REFERRAL_ANSWERED_SCHEMA, Answer, FirstAppointment, ReferralAnsweredV1
from contracts.envelope import EventType
from contracts.handover import ReferralKind
from contracts.release_notice import ReportingInstructions
from services.common.auth import Principal
from services.handover.adapters.tables import Referral, ReferralAnswer
from services.handover.domain.case import ANSWERABLE, check_report_at
from services.handover.domain.referrals import AnswerFacts, ReferralStatus, next_status
from services.handover.usecases.audit_entries import referral_entry
from services.handover.usecases.issuing import Stamp, publish
from services.handover.usecases.ports import HandoverUnitOfWork
from services.handover.usecases.rerouting import RoutedOn, route_on

log = structlog.get_logger(__name__)


class ReferralNotFound(Exception):
    """No such referral addressed to this agency."""


class HandoverClosed(Exception):
    """The handover is no longer open."""


@dataclass(frozen=True)
class AnswerIn:
    answer: Answer
    first_appointment: FirstAppointment | None = None
    reason_code: str | None = None
    reason_text: str | None = None
    attended: bool | None = None
    reporting_instructions: ReportingInstructions | None = None

    def facts(self) -> AnswerFacts:
        return AnswerFacts(
            answer=self.answer,
            has_first_appointment=self.first_appointment is not None,
            has_reason_code=bool(self.reason_code),
            attended=self.attended,
            has_reporting_instructions=self.reporting_instructions is not None,
        )

    def signature(self) -> dict[str, Any]:
        """The answer's content, to know a retry of it."""
        return {
            "answer": self.answer.value,
            "first_appointment": self.first_appointment.model_dump(mode="json") if self.first_appointment else None,
            "reason_code": self.reason_code,
            "reason_text": self.reason_text,
            "attended": self.attended,
            "reporting_instructions": (
                self.reporting_instructions.model_dump(mode="json") if self.reporting_instructions else None
            ),
        }


@dataclass(frozen=True)
class AnswerOutcome:
    referral_id: str
    status: str
    rerouted_to: str | None
    escalated_to: list[str]
    replayed: bool = False


async def answer_referral(
    *,
    uow: HandoverUnitOfWork,
    agency_code: str,
    referral_id: str,
    given: AnswerIn,
    source: str,
    now: datetime,
    correlation_id: str | None,
    actor: Principal | None = None,
) -> AnswerOutcome:
    """Apply an agency's answer; ``actor`` (the authenticated caller) is written to the audit trail with it."""
    stamp = Stamp(source, now, correlation_id)
    async with uow:
        referral = await uow.referrals.get(referral_id)
        if referral is None or referral.agency_code != agency_code:
            raise ReferralNotFound
        # Locked: one change at a time per handover (a custody event, another answer, this answer).
        handover = await uow.handovers.get(referral.handover_id, lock=True)
        await uow.referrals.reload(referral)  # as committed by whoever held the lock before
        assert handover is not None
        if handover.state not in ANSWERABLE:
            raise HandoverClosed(f"the handover is {handover.state}: {handover.state_reason or ''}".strip())
        earlier = await _same_as_last_answer(uow, referral.id, given)
        if earlier is not None:
            return earlier
        kind = ReferralKind(referral.referral_kind)
        status = next_status(ReferralStatus(referral.status), given.facts(), kind=kind)
        check_report_at(given.reporting_instructions, handover.release_date)
        _record(referral, status, given, now)
        answered = ReferralAnsweredV1(
            handover_id=handover.id,
            agency_code=agency_code,
            answer=given.answer,
            answered_at=now,
            first_appointment=given.first_appointment,
            reason_code=given.reason_code,
            reason_text=given.reason_text,
            referral_id=referral.id,
            referral_kind=kind.value,
            agency_kind=referral.agency_kind,
            prison_number=handover.prison_number,
            attended=given.attended,
            reporting_instructions=given.reporting_instructions,
        )
        event = publish(
            uow,
            stamp,
            type=EventType.REFERRAL_ANSWERED,
            schema=REFERRAL_ANSWERED_SCHEMA,
            data=answered,
            subject=handover.prison_number,
        )
        routed = RoutedOn(None, [])
        if status == ReferralStatus.REJECTED:
            routed = await route_on(uow, stamp, handover, referral, await uow.directory.active())
        outcome = {
            "status": status.value,
            "rerouted_to": routed.rerouted_to,
            "escalated_to": routed.escalated_to,
            "given": given.signature(),
        }
        await uow.referrals.add_answer(
            ReferralAnswer(
                referral_id=referral.id,
                answer=given.answer.value,
                body=answered.model_dump_json(),
                event_id=event.id,
                outcome=json.dumps(outcome),
                answered_at=now,
            )
        )
        details = {"answer": given.answer.value, "handover_id": handover.id, **outcome}
        del details["given"]
        await uow.audit.record(
            referral_entry(
                actor,
                "referral.answered",
                referral_id=referral.id,
                prison_number=handover.prison_number,
                correlation_id=correlation_id,
                details=details,
            )
        )
    log.info(
        "referral.answered",
        referral_id=referral_id,
        answer=given.answer.value,
        status=status.value,
        rerouted_to=routed.rerouted_to,
        escalated_to=routed.escalated_to,
    )
    return AnswerOutcome(referral_id, status.value, routed.rerouted_to, routed.escalated_to)


async def _same_as_last_answer(uow: HandoverUnitOfWork, referral_id: str, given: AnswerIn) -> AnswerOutcome | None:
    """A retry of the last answer (same content) gets the first outcome again, and changes nothing."""
    last = await uow.referrals.last_answer(referral_id)
    if last is None:
        return None
    outcome = json.loads(last.outcome)
    if outcome.get("given") != given.signature():
        return None
    return AnswerOutcome(referral_id, outcome["status"], outcome["rerouted_to"], outcome["escalated_to"], replayed=True)


def _record(referral: Referral, status: ReferralStatus, given: AnswerIn, now: datetime) -> None:
    referral.status, referral.updated_at = status.value, now
    referral.invalidated_reason = None  # answered again
    if given.first_appointment is not None:
        referral.first_appointment_at = given.first_appointment.at
        referral.first_appointment_place = given.first_appointment.place
    if given.reason_code is not None:
        referral.reason_code, referral.reason_text = given.reason_code, given.reason_text
    if given.attended is not None:
        referral.attended = given.attended
    if given.reporting_instructions is not None:
        referral.report_at = given.reporting_instructions.report_at
        referral.reporting = given.reporting_instructions.model_dump_json()
