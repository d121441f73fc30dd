"""Escalations kept for the outcomes dataset: the notifier escalates a referral whose agency has not answered by a
deadline (72 h after delivery, 24 h before release), and handover escalates one whose pack could not be delivered
when no other agency can take it. Either way the referral fell through, so the dataset keeps which referrals were
escalated, why and when; the report counts each referral once however often it was escalated."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import structlog

from contracts.delivery import ReferralEscalatedV1
from contracts.envelope import CloudEvent
from services.handover.adapters import tables
from services.handover.domain.outcomes import EscalationCause, ReferralEscalation
from services.handover.usecases.ports import HandoverUnitOfWork

log = structlog.get_logger(__name__)


def escalations_of(
    referrals: Iterable[tables.Referral], *, escalation_id: str, cause: EscalationCause, at: datetime
) -> list[ReferralEscalation]:
    """One row per referral named by the escalation ``escalation_id``."""
    return [
        ReferralEscalation(escalation_id, referral.id, referral.handover_id, referral.agency_code, cause, at)
        for referral in referrals
    ]


async def note_deadline_escalation(*, uow: HandoverUnitOfWork, event: CloudEvent) -> bool:
    """Keep the open referrals of each agency the notifier's escalation names (every outstanding one, or the
    lead agency of an escalation that lists none). False if already seen or about no known handover."""
    escalated = ReferralEscalatedV1.model_validate(event.data)
    agencies = sorted({item.agency_code for item in escalated.outstanding} or {escalated.agency_code})
    cause = EscalationCause(escalated.deadline.value)
    noted: list[ReferralEscalation] = []
    async with uow:
        if not await uow.inbox.first_delivery(event_id=event.id, event_type=event.type):
            return False
        # Locked: one change at a time per handover, so an answer arriving now is either before or after this.
        handover = await uow.handovers.get(escalated.handover_id, lock=True)
        if handover is None:
            return False
        for agency_code in agencies:
            referrals = await uow.referrals.open_of_agency(handover.id, agency_code)
            at = escalated.escalated_at
            noted += escalations_of(referrals, escalation_id=escalated.escalation_id, cause=cause, at=at)
        await uow.outcomes.note_escalations(noted)
    log.info("referral.escalation_noted", handover_id=handover.id, deadline=cause.value, referrals=len(noted))
    return bool(noted)
