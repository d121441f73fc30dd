"""A referral is never dropped: one that was rejected, or that could not be delivered, goes to the next eligible
agency, or, when there is none, is escalated to the prison healthcare team and RECONNECT."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts.envelope import EventType
from contracts.handover import REFERRAL_ROUTED_SCHEMA, ReferralKind, ReferralRoutedV1
from contracts.release_notice import ReleaseNoticeV1
from services.handover.adapters.tables import Handover, Referral
from services.handover.domain.case import escalation_note, escalation_recipients, rejection_reason
from services.handover.domain.directory import AgencyRecord
from services.handover.domain.distribution import Recipient, entry
from services.handover.domain.referral_routing import age_on, area_of, next_candidate, prison_healthcare_of
from services.handover.usecases.fhir_entries import with_fhir
from services.handover.usecases.issuing import Stamp, current_pack, new_referral, publish, record_sent
from services.handover.usecases.ports import HandoverUnitOfWork


@dataclass(frozen=True)
class RoutedOn:
    """Where a referral went: the agency it was re-routed to, or those it was escalated to."""

    rerouted_to: str | None
    escalated_to: list[str]


async def route_on(
    uow: HandoverUnitOfWork,
    stamp: Stamp,
    handover: Handover,
    rejected: Referral,
    directory: list[AgencyRecord],
    *,
    cause: str | None = None,
) -> RoutedOn:
    """Route ``rejected`` on (or escalate it); ``cause`` says why instead of the rejection's reason (a
    referral that could not be delivered)."""
    kind = ReferralKind(rejected.referral_kind)
    notice = ReleaseNoticeV1.model_validate_json(handover.notice)
    pack = await current_pack(uow, handover)
    tried = [r.agency_code for r in await uow.referrals.of_handover(handover.id) if r.referral_kind == kind.value]
    area = area_of(notice, directory)
    why = cause or rejection_reason(rejected.agency_code, rejected.reason_code, rejected.reason_text)
    age = age_on(notice.date_of_birth, notice.release.date)
    candidate = next_candidate(kind, area, directory, age=age, tried=tried)
    outcome: Literal["rerouted", "escalated"]
    if candidate is not None:
        outcome, note = "rerouted", None
        agency = candidate.agency
        recipients = [
            Recipient(agency.code, agency.kind, agency.name, kind, f"re-routed after {why}; {candidate.reason}")
        ]
    else:
        outcome, note = "escalated", escalation_note(kind, rejected.agency_code, cause)
        prison = prison_healthcare_of(handover.establishment_code, directory)
        recipients = escalation_recipients(
            why=why, area=area, directory=directory, prison=prison, rejected_by=rejected.agency_code
        )
    referrals = [new_referral(handover.id, r, stamp.now) for r in recipients]
    recipients = [
        Recipient(r.agency_code, r.agency_kind, r.agency_name, r.referral_kind, r.reason, referral.id)
        for r, referral in zip(recipients, referrals, strict=True)
    ]
    entries = [
        entry(outcome, handover_id=handover.id, version=handover.current_version, recipient=r, pack=pack, note=note)
        for r in recipients
    ]
    for referral, sent in zip(referrals, entries, strict=True):
        record_sent(referral, sent, referral.updated_at)
    await uow.referrals.add(*referrals)
    data = ReferralRoutedV1(
        handover_id=handover.id,
        version=handover.current_version,
        referral_kind=kind,
        rejected_referral_id=rejected.id,
        rejected_by=rejected.agency_code,
        outcome=outcome,
        routed_at=stamp.now,
        reason=why,
        distribution=await with_fhir(uow, entries, at=stamp.now),
    )
    event_type = EventType.REFERRAL_REROUTED if outcome == "rerouted" else EventType.REFERRAL_ESCALATED
    publish(uow, stamp, type=event_type, schema=REFERRAL_ROUTED_SCHEMA, data=data, subject=handover.prison_number)
    codes = [r.agency_code for r in recipients]
    return RoutedOn(codes[0], []) if outcome == "rerouted" else RoutedOn(None, codes)
