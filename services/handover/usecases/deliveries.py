"""The notifier's delivery outcomes flow back onto the referrals they carried, so that readiness knows whether
an agency really has its pack (a dead-lettered referral is at risk, not "awaiting an answer").

A referral whose delivery failed for good is not left to wait for someone to fix the endpoint: it is routed on
at once, as a rejection is (``domain.undelivered``): to the next eligible agency, whose referral replaces it (it
is cancelled, reason ``undeliverable``), or, when there is none, escalated to the prison healthcare team and
RECONNECT while it stays open (a replay may still deliver it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from contracts.delivery import DeliveryOutcomeV1
from contracts.envelope import CloudEvent
from contracts.handover import ReferralKind
from services.handover.domain.outcomes import EscalationCause
from services.handover.domain.referrals import ReferralStatus
from services.handover.domain.undelivered import (
    REFERRAL_CARRYING,
    DeliveryFollowUp,
    undelivered_cause,
    undelivered_verdict,
)
from services.handover.usecases.audit_entries import referral_entry
from services.handover.usecases.escalations_noted import escalations_of
from services.handover.usecases.issuing import Stamp
from services.handover.usecases.outcomes import DELIVERED, record_delivery
from services.handover.usecases.ports import HandoverUnitOfWork, UnitOfWorkFactory
from services.handover.usecases.rerouting import RoutedOn, route_on

log = structlog.get_logger(__name__)

UNDELIVERABLE = "undeliverable"


async def record_delivery_outcome(*, uow: HandoverUnitOfWork, event: CloudEvent, source: str, now: datetime) -> bool:
    """Note on the agency's open referrals of the handover whether its pack was delivered, and route on a
    referral that could not be. False if skipped."""
    outcome = DeliveryOutcomeV1.model_validate(event.data)
    if outcome.handover_id is None or (outcome.event_type and outcome.event_type not in REFERRAL_CARRYING):
        return False
    stamp = Stamp(source, now, event.correlationid)
    routed: list[tuple[str, RoutedOn]] = []
    async with uow:
        if not await uow.inbox.first_delivery(event_id=event.id, event_type=event.type):
            return False
        # Locked: one change at a time per handover (a custody event, an answer, this outcome).
        handover = await uow.handovers.get(outcome.handover_id, lock=True)
        if handover is None:
            return False
        await record_delivery(outcomes=uow.outcomes, outcome=outcome, at=event.time)
        referrals = await uow.referrals.open_of_agency(handover.id, outcome.agency_code)
        for referral in referrals:
            previous = referral.delivery_status
            referral.delivery_status = outcome.status
            referral.delivery_detail = (
                None if outcome.status == "delivered" else (outcome.reason or outcome.status)[:500]
            )
            verdict = undelivered_verdict(
                delivery_status=outcome.status,
                webhook_type=outcome.event_type or "handover.pack.issued",
                referral_kind=ReferralKind(referral.referral_kind),
                referral_status=ReferralStatus(referral.status),
                previous_delivery_status=previous,
                handover_state=handover.state,
            )
            if verdict != DeliveryFollowUp.ROUTE_ON:
                continue
            cause = undelivered_cause(outcome.agency_code, outcome.status, outcome.reason)
            moved = await route_on(uow, stamp, handover, referral, await uow.directory.active(), cause=cause)
            if moved.rerouted_to is not None:  # the next agency's referral replaces it
                referral.status, referral.updated_at = ReferralStatus.CANCELLED.value, now
                referral.reason_code = UNDELIVERABLE
                referral.reason_text = f"{cause}; re-routed to {moved.rerouted_to}"
            else:  # kept open (a replay may deliver it), but it fell through: the dataset counts it escalated
                kept = escalations_of([referral], escalation_id=event.id, cause=EscalationCause.UNDELIVERABLE, at=now)
                await uow.outcomes.note_escalations(kept)
            details = {
                "handover_id": handover.id,
                "agency_code": outcome.agency_code,
                "webhook_id": outcome.webhook_id,
                "delivery": outcome.status,
                "rerouted_to": moved.rerouted_to,
                "escalated_to": moved.escalated_to,
            }
            await uow.audit.record(
                referral_entry(
                    None,
                    "referral.undelivered",
                    referral_id=referral.id,
                    prison_number=handover.prison_number,
                    correlation_id=event.correlationid,
                    details=details,
                )
            )
            routed.append((referral.id, moved))
    log.info(
        "referral.delivery_recorded",
        handover_id=outcome.handover_id,
        agency=outcome.agency_code,
        delivery=outcome.status,
        referrals=len(referrals),
    )
    for referral_id, moved in routed:
        log.warning(
            "referral.undelivered_routed_on",
            referral_id=referral_id,
            rerouted_to=moved.rerouted_to,
            escalated_to=moved.escalated_to,
        )
    return bool(referrals)


@dataclass(frozen=True)
class _Delivered:
    """A plain delivery: a referral-carrying webhook delivered, which asks nothing of the referral but to be marked
    (no routing on, no escalation, no audit entry)."""

    event: CloudEvent
    handover_id: str
    agency_code: str


def _plainly_delivered(event: CloudEvent) -> _Delivered | None:
    outcome = DeliveryOutcomeV1.model_validate(event.data)
    if outcome.status != DELIVERED or outcome.handover_id is None or outcome.event_type not in REFERRAL_CARRYING:
        return None
    return _Delivered(event, outcome.handover_id, outcome.agency_code)


async def record_delivery_outcomes(
    *, new_uow: UnitOfWorkFactory, events: Sequence[CloudEvent], source: str, now: datetime
) -> bool:
    """Many outcomes, in order, with the effects :func:`record_delivery_outcome` has on each: a run of plain
    deliveries (nearly all of them) is written per table in one unit of work, any other outcome alone as before.
    True when any outcome staged events to publish."""
    staged = False
    plain: list[_Delivered] = []
    for event in events:
        delivered = _plainly_delivered(event)
        if delivered is not None:
            plain.append(delivered)
            continue
        if plain:
            await _record_delivered(uow=new_uow(), plain=plain)
            plain = []
        staged |= await record_delivery_outcome(uow=new_uow(), event=event, source=source, now=now)
    if plain:
        await _record_delivered(uow=new_uow(), plain=plain)
    return staged


async def _record_delivered(*, uow: HandoverUnitOfWork, plain: Sequence[_Delivered]) -> None:
    """Plain deliveries together: each event once (the inbox), its handover locked as one outcome locks it, the
    first delivery of each referral noted, and each open referral of the agency marked delivered."""
    async with uow:
        first = await uow.inbox.first_deliveries([item.event for item in plain])
        of_event = {item.event.id: item for item in plain}
        fresh = [of_event[event.id] for event in first]
        existing = await uow.handovers.lock_existing([item.handover_id for item in fresh])
        applied = [item for item in fresh if item.handover_id in existing]
        await uow.outcomes.note_delivered_many([(i.handover_id, i.agency_code, i.event.time) for i in applied])
        await uow.referrals.mark_delivered([(item.handover_id, item.agency_code) for item in applied])
    log.info("referral.deliveries_recorded", outcomes=len(plain), applied=len(applied), handovers=len(existing))
