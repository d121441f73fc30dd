"""Use case: an agency answers its referral. A rejection is re-routed to the next eligible agency, or, when
there is none, escalated to the prison healthcare contact and RECONNECT: a referral is never dropped."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.answers import REFERRAL_ANSWERED_SCHEMA, Answer, FirstAppointment, ReferralAnsweredV1
from contracts.envelope import EventType
from contracts.handover import (
    REFERRAL_ROUTED_SCHEMA,
    AgencyKind,
    HandoverPack,
    ReferralKind,
    ReferralRoutedV1,
)
from contracts.release_notice import ReleaseNoticeV1, ReportingInstructions
from services.common import audit
from services.handover.directory import active_agencies
from services.handover.domain.distribution import Recipient, entry
from services.handover.domain.referrals import AnswerFacts, AnswerRefused, ReferralStatus, next_status
from services.handover.domain.routing import age_on, area_of, next_candidate, prison_healthcare_of
from services.handover.fhir_webhooks import with_fhir
from services.handover.messages import publish
from services.handover.models import Handover, HandoverVersion, Referral, ReferralAnswer
from services.handover.service import Context, new_referral, referrals_of

log = structlog.get_logger(__name__)


# After release the agencies still answer (e.g. first appointment attended); not after withdrawal or recall.
ANSWERABLE = frozenset({"open", "released"})


class NotFound(Exception):
    """No such referral addressed to this agency."""


class Conflict(Exception):
    """The handover is no longer open."""


@dataclass(frozen=True)
class AnswerIn:
    answer: Answer
    first_appointment: FirstAppointment | None = None
    reason_code: str | None = None
    reason_text: str | None = None
    attended: bool | None = None
    reporting_instructions: ReportingInstructions | None = None


@dataclass(frozen=True)
class AnswerOutcome:
    referral_id: str
    status: str
    rerouted_to: str | None
    escalated_to: list[str]
    replayed: bool = False


async def answer_referral(
    *,
    ctx: Context,
    agency_code: str,
    referral_id: str,
    given: AnswerIn,
    correlation_id: str | None,
    actor: Any = None,
) -> AnswerOutcome:
    """Apply an agency's answer; ``actor`` (the authenticated caller) is written to the audit trail with it."""
    now = ctx.clock.now()
    directory = await active_agencies(database=ctx.database)
    async with ctx.database.transaction() as session:
        referral = await session.get(Referral, referral_id)
        if referral is None or referral.agency_code != agency_code:
            raise NotFound
        # Locked: one change at a time per handover (a custody event, another answer, this answer).
        handover = await session.get(Handover, referral.handover_id, with_for_update=True)
        await session.refresh(referral)  # as committed by whoever held the lock before
        assert handover is not None
        if handover.state not in ANSWERABLE:
            raise Conflict(f"the handover is {handover.state}: {handover.state_reason or ''}".strip())
        earlier = await _same_as_last_answer(session, referral.id, given)
        if earlier is not None:
            return earlier
        kind = ReferralKind(referral.referral_kind)
        facts = AnswerFacts(
            answer=given.answer,
            has_first_appointment=given.first_appointment is not None,
            has_reason_code=bool(given.reason_code),
            attended=given.attended,
            has_reporting_instructions=given.reporting_instructions is not None,
        )
        status = next_status(ReferralStatus(referral.status), facts, kind=kind)
        if given.reporting_instructions and given.reporting_instructions.report_at.date() < handover.release_date:
            raise AnswerRefused("report_at is before the release date", "reporting_instructions.report_at")
        _record(referral, status, given, now)
        session.add(referral)
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
            session,
            type=EventType.REFERRAL_ANSWERED,
            schema=REFERRAL_ANSWERED_SCHEMA,
            data=answered,
            subject=handover.prison_number,
            source=ctx.source,
            correlation_id=correlation_id,
            clock=ctx.clock,
        )
        rerouted: str | None = None
        escalated: list[str] = []
        if status == ReferralStatus.REJECTED:
            rerouted, escalated = await _reroute(session, ctx, handover, referral, directory, correlation_id)
        outcome = {
            "status": status.value,
            "rerouted_to": rerouted,
            "escalated_to": escalated,
            "given": _signature(given),
        }
        session.add(
            ReferralAnswer(
                referral_id=referral.id,
                answer=given.answer.value,
                body=answered.model_dump_json(),
                event_id=event.id,
                outcome=json.dumps(outcome),
                answered_at=now,
            )
        )
        what = {
            "action": "referral.answered",
            "resource_type": "referral",
            "resource_id": referral.id,
            "subject": handover.prison_number,
            "correlation_id": correlation_id,
            "details": {
                "answer": given.answer.value,
                "status": status.value,
                "handover_id": handover.id,
                "rerouted_to": rerouted,
                "escalated_to": escalated,
            },
        }
        entry = audit.AuditEntry.by(actor, **what) if actor else audit.AuditEntry.system("handover", **what)
        await audit.record(session, entry, now)
    log.info(
        "referral.answered",
        referral_id=referral_id,
        answer=given.answer.value,
        status=status.value,
        rerouted_to=rerouted,
        escalated_to=escalated,
    )
    return AnswerOutcome(referral_id, status.value, rerouted, escalated)


def _signature(given: AnswerIn) -> dict[str, Any]:
    return {
        "answer": given.answer.value,
        "first_appointment": given.first_appointment.model_dump(mode="json") if given.first_appointment else None,
        "reason_code": given.reason_code,
        "reason_text": given.reason_text,
        "attended": given.attended,
        "reporting_instructions": (
            given.reporting_instructions.model_dump(mode="json") if given.reporting_instructions else None
        ),
    }


async def _same_as_last_answer(session: AsyncSession, referral_id: str, given: AnswerIn) -> AnswerOutcome | None:
    """A retry of the last answer (same content) gets the first outcome again, and changes nothing."""
    last = (
        await session.exec(
            select(ReferralAnswer)
            .where(ReferralAnswer.referral_id == referral_id)
            .order_by(col(ReferralAnswer.id).desc())
        )
    ).first()
    if last is None:
        return None
    outcome = json.loads(last.outcome)
    if outcome.get("given") != _signature(given):
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


async def _reroute(
    session: AsyncSession,
    ctx: Context,
    handover: Handover,
    rejected: Referral,
    directory: list,
    correlation_id: str | None,
    cause: str | None = None,
) -> tuple[str | None, list[str]]:
    """Route a rejected referral on (or escalate it); ``cause`` says why instead of the rejection's reason
    (a referral that could not be delivered, ``services.handover.deliveries``)."""
    now = ctx.clock.now()
    kind = ReferralKind(rejected.referral_kind)
    notice = ReleaseNoticeV1.model_validate_json(handover.notice)
    version = await session.get(HandoverVersion, (handover.id, handover.current_version))
    assert version is not None
    pack = HandoverPack.model_validate_json(version.pack)
    tried = [r.agency_code for r in await referrals_of(session, handover.id) if r.referral_kind == kind.value]
    area = area_of(notice, directory)
    why = f"{rejected.agency_code} rejected the referral ({rejected.reason_code}"
    why += f": {rejected.reason_text})" if rejected.reason_text else ")"
    why = cause or why
    candidate = next_candidate(
        kind, area, directory, age=age_on(notice.date_of_birth, notice.release.date), tried=tried
    )
    recipients: list[Recipient]
    outcome: Literal["rerouted", "escalated"]
    if candidate is not None:
        outcome = "rerouted"
        recipients = [
            Recipient(
                agency_code=candidate.agency.code,
                agency_kind=candidate.agency.kind,
                agency_name=candidate.agency.name,
                referral_kind=kind,
                reason=f"re-routed after {why}; {candidate.reason}",
                referral_id=None,
            )
        ]
    else:
        outcome = "escalated"
        recipients = []
        prison = prison_healthcare_of(handover.establishment_code, directory)
        if prison is not None:
            recipients.append(
                Recipient(
                    prison.code,
                    prison.kind,
                    prison.name,
                    ReferralKind.NOTIFICATION,
                    f"escalation to prison healthcare: {why}; no other eligible agency",
                )
            )
        recipients += [
            Recipient(
                agency.code,
                agency.kind,
                agency.name,
                ReferralKind.NOTIFICATION,
                f"escalation to RECONNECT covering the area: {why}; no other eligible agency",
            )
            for agency in directory
            if agency.kind == AgencyKind.RECONNECT
            and agency.active
            and agency.code != rejected.agency_code
            and (agency.covers_district(area.postcode_district) or agency.covers_authority(area.local_authority))
        ]
    referrals = [new_referral(handover.id, r, now) for r in recipients]
    recipients = [
        Recipient(r.agency_code, r.agency_kind, r.agency_name, r.referral_kind, r.reason, referral.id)
        for r, referral in zip(recipients, referrals, strict=True)
    ]
    note = (
        None
        if outcome == "rerouted"
        else (
            f"Escalation: the {kind.value} referral was rejected by {rejected.agency_code} and no other "
            "eligible agency "
            "covers the area. Please arrange care directly."
        )
        if cause is None
        else (
            f"Escalation: the {kind.value} referral could not be delivered ({cause}) and no other eligible "
            "agency covers the area. Please arrange care directly."
        )
    )
    entries = [
        entry(
            outcome,
            handover_id=handover.id,
            version=handover.current_version,
            recipient=r,
            pack=pack,
            note=note,
        )
        for r in recipients
    ]
    for referral, sent in zip(referrals, entries, strict=True):
        referral.sections = sent.model_dump_json(exclude_none=True)
        session.add(referral)
    publish(
        session,
        type=EventType.REFERRAL_REROUTED if outcome == "rerouted" else EventType.REFERRAL_ESCALATED,
        schema=REFERRAL_ROUTED_SCHEMA,
        data=ReferralRoutedV1(
            handover_id=handover.id,
            version=handover.current_version,
            referral_kind=kind,
            rejected_referral_id=rejected.id,
            rejected_by=rejected.agency_code,
            outcome=outcome,
            routed_at=now,
            reason=why,
            distribution=await with_fhir(session, entries, at=now),
        ),
        subject=handover.prison_number,
        source=ctx.source,
        correlation_id=correlation_id,
        clock=ctx.clock,
    )
    codes = [r.agency_code for r in recipients]
    return (codes[0], []) if outcome == "rerouted" else (None, codes)


reroute = _reroute  # for services.handover.deliveries: a referral that could not be delivered moves on too


async def answers_of(session: AsyncSession, referral_id: str) -> list[ReferralAnswer]:
    return list((await session.exec(select(ReferralAnswer).where(ReferralAnswer.referral_id == referral_id))).all())
