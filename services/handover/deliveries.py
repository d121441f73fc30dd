"""Use case: the notifier's delivery outcomes flow back onto the referrals they carried, so that readiness
knows whether an agency really has its pack (a dead-lettered referral is at risk, not "awaiting an answer").

A referral whose delivery failed for good is not left to wait for someone to fix the endpoint: it is routed on
at once, as a rejection is (``domain.undelivered``): to the next eligible agency, whose referral replaces it (it
is cancelled, reason ``undeliverable``), or, when there is none, escalated to the prison healthcare team and
RECONNECT while it stays open (a replay may still deliver it)."""

from __future__ import annotations

import structlog
from sqlmodel import col, select

from contracts.delivery import DeliveryOutcomeV1
from contracts.envelope import CloudEvent
from contracts.handover import ReferralKind
from services.common import audit
from services.common.inbox import first_delivery
from services.handover import answers
from services.handover.adapters.outcome_repository import joined
from services.handover.directory import active_agencies
from services.handover.domain.referrals import OPEN, ReferralStatus
from services.handover.domain.undelivered import (
    FAILED_FOR_GOOD,
    REFERRAL_CARRYING,
    Verdict,
    undelivered_cause,
    undelivered_verdict,
)
from services.handover.models import Handover, Referral
from services.handover.service import Context
from services.handover.usecases.outcomes import note_delivery

log = structlog.get_logger(__name__)

UNDELIVERABLE = "undeliverable"


async def record_delivery_outcome(*, ctx: Context, event: CloudEvent) -> bool:
    """Note on the agency's open referrals of the handover whether its pack was delivered, and route on a
    referral that could not be. False if skipped."""
    outcome = DeliveryOutcomeV1.model_validate(event.data)
    if outcome.handover_id is None or (outcome.event_type and outcome.event_type not in REFERRAL_CARRYING):
        return False
    now = ctx.clock.now()
    directory = await active_agencies(database=ctx.database) if outcome.status in FAILED_FOR_GOOD else []
    routed: list[tuple[str, str | None, list[str]]] = []
    async with ctx.database.transaction() as session:
        if not await first_delivery(session, event_id=event.id, event_type=event.type, now=now):
            return False
        # Locked: one change at a time per handover (a custody event, an answer, this outcome).
        handover = await session.get(Handover, outcome.handover_id, with_for_update=True)
        if handover is None:
            return False
        await note_delivery(uow=joined(session, ctx), outcome=outcome, at=event.time)
        referrals = (
            await session.exec(
                select(Referral)
                .where(col(Referral.handover_id) == outcome.handover_id)
                .where(col(Referral.agency_code) == outcome.agency_code)
                .where(col(Referral.status).in_([status.value for status in OPEN]))
                .order_by(col(Referral.created_at), col(Referral.id))
            )
        ).all()
        for referral in referrals:
            previous = referral.delivery_status
            referral.delivery_status = outcome.status
            referral.delivery_detail = (
                None if outcome.status == "delivered" else (outcome.reason or outcome.status)[:500]
            )
            session.add(referral)
            verdict = undelivered_verdict(
                delivery_status=outcome.status,
                webhook_type=outcome.event_type or "handover.pack.issued",
                referral_kind=ReferralKind(referral.referral_kind),
                referral_status=ReferralStatus(referral.status),
                previous_delivery_status=previous,
                handover_state=handover.state,
            )
            if verdict != Verdict.ROUTE_ON:
                continue
            cause = undelivered_cause(outcome.agency_code, outcome.status, outcome.reason)
            rerouted, escalated = await answers.reroute(
                session, ctx, handover, referral, directory, event.correlationid, cause=cause
            )
            if rerouted is not None:  # the next agency's referral replaces it
                referral.status, referral.updated_at = ReferralStatus.CANCELLED.value, now
                referral.reason_code, referral.reason_text = UNDELIVERABLE, f"{cause}; re-routed to {rerouted}"
                session.add(referral)
            await audit.record(
                session,
                audit.AuditEntry.system(
                    "handover",
                    action="referral.undelivered",
                    resource_type="referral",
                    resource_id=referral.id,
                    subject=handover.prison_number,
                    correlation_id=event.correlationid,
                    details={
                        "handover_id": handover.id,
                        "agency_code": outcome.agency_code,
                        "webhook_id": outcome.webhook_id,
                        "delivery": outcome.status,
                        "rerouted_to": rerouted,
                        "escalated_to": escalated,
                    },
                ),
                now,
            )
            routed.append((referral.id, rerouted, escalated))
    log.info(
        "referral.delivery_recorded",
        handover_id=outcome.handover_id,
        agency=outcome.agency_code,
        delivery=outcome.status,
        referrals=len(referrals),
    )
    for referral_id, rerouted, escalated in routed:
        log.warning(
            "referral.undelivered_routed_on", referral_id=referral_id, rerouted_to=rerouted, escalated_to=escalated
        )
    return bool(referrals)


async def delivery_of(*, ctx: Context, handover_id: str) -> dict[str, str | None]:
    """Agency code -> last delivery status of its open referral (for views and tests)."""
    async with ctx.database.session() as session:
        rows = await session.exec(select(Referral).where(Referral.handover_id == handover_id))
        return {r.agency_code: r.delivery_status for r in rows.all()}
