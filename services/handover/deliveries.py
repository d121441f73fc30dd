"""Use case: the notifier's delivery outcomes flow back onto the referrals they carried, so that readiness
knows whether an agency really has its pack (a dead-lettered referral is at risk, not "awaiting an answer")."""

from __future__ import annotations

import structlog
from sqlmodel import col, select, update

from contracts.delivery import DeliveryOutcomeV1
from contracts.envelope import CloudEvent
from services.common.inbox import first_delivery
from services.handover.domain.referrals import OPEN
from services.handover.models import Referral
from services.handover.service import Context

log = structlog.get_logger(__name__)

# Webhooks that carry a referral to its agency; outcomes of withdrawals and notifications do not change readiness.
REFERRAL_CARRYING = frozenset({"handover.pack.issued", "handover.pack.amended", "handover.referral.rerouted"})


async def record_delivery_outcome(*, ctx: Context, event: CloudEvent) -> bool:
    """Note on the agency's open referrals of the handover whether its pack was delivered. False if skipped."""
    outcome = DeliveryOutcomeV1.model_validate(event.data)
    if outcome.handover_id is None or (outcome.event_type and outcome.event_type not in REFERRAL_CARRYING):
        return False
    async with ctx.database.transaction() as session:
        if not await first_delivery(session, event_id=event.id, event_type=event.type, now=ctx.clock.now()):
            return False
        changed = await session.exec(  # type: ignore[call-overload]
            update(Referral)
            .where(col(Referral.handover_id) == outcome.handover_id)
            .where(col(Referral.agency_code) == outcome.agency_code)
            .where(col(Referral.status).in_([status.value for status in OPEN]))
            .values(
                delivery_status=outcome.status,
                delivery_detail=None if outcome.status == "delivered" else (outcome.reason or outcome.status)[:500],
            )
        )
    log.info("referral.delivery_recorded", handover_id=outcome.handover_id, agency=outcome.agency_code,
             delivery=outcome.status, referrals=changed.rowcount)
    return bool(changed.rowcount)


async def delivery_of(*, ctx: Context, handover_id: str) -> dict[str, str | None]:
    """Agency code -> last delivery status of its open referral (for views and tests)."""
    async with ctx.database.session() as session:
        rows = await session.exec(select(Referral).where(Referral.handover_id == handover_id))
        return {r.agency_code: r.delivery_status for r in rows.all()}
