"""Withdraw a pack: the case ends (withdrawn, or closed on recall) and every agency that has it is told."""

from __future__ import annotations

import structlog

from contracts.handover import WithdrawalReason
from services.handover.adapters.tables import Handover
from services.handover.domain.case import HandoverState
from services.handover.domain.outcomes import Ending
from services.handover.domain.referrals import OPEN, ReferralStatus
from services.handover.usecases.issuing import Stamp, recipient_of, tell_withdrawal
from services.handover.usecases.outcomes import record_outcome
from services.handover.usecases.ports import HandoverUnitOfWork

log = structlog.get_logger(__name__)


async def withdraw(
    *,
    uow: HandoverUnitOfWork,
    stamp: Stamp,
    handover: Handover,
    reason_code: WithdrawalReason,
    reason: str,
    state: HandoverState,
) -> None:
    """Every agency that has the pack (the prison included) is told; live referrals are cancelled. The case's
    readiness is kept for the outcomes dataset first, as it stood before the referrals were cancelled."""
    await record_outcome(
        outcomes=uow.outcomes, handover_id=handover.id, ending=Ending(reason_code.value), now=stamp.now
    )
    referrals = [r for r in await uow.referrals.of_handover(handover.id) if r.status in OPEN]
    recipients = [recipient_of(r) for r in referrals]
    for referral in referrals:
        referral.status, referral.reason_text = ReferralStatus.CANCELLED.value, reason
        referral.updated_at = stamp.now
    await tell_withdrawal(uow, stamp, handover, recipients=recipients, reason_code=reason_code, reason=reason)
    handover.state, handover.state_reason, handover.updated_at = state.value, reason[:500], stamp.now
    log.info(
        "handover.withdrawn",
        handover_id=handover.id,
        reason_code=reason_code.value,
        told=[r.agency_code for r in referrals],
    )
