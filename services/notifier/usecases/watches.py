"""Watches over delivered referrals: started when a referral is delivered, re-armed when an amendment
invalidates the agency's answer, settled when the agency's part is withdrawn, stopped by an answer."""

from __future__ import annotations

import json
from datetime import datetime

import structlog

from contracts.answers import ReferralAnsweredV1
from contracts.envelope import CloudEvent
from services.notifier.adapters.tables import Delivery
from services.notifier.domain.escalation_rules import (
    answer_counts,
    awaits_answer_again,
    is_referral,
    withdrawn_from_agency,
)
from services.notifier.usecases.ports import NotifierUow

log = structlog.get_logger(__name__)


async def watch_if_referral(uow: NotifierUow, *, delivery: Delivery, agency_kind: str, now: datetime) -> None:
    """What a delivery just delivered means for its referral's watch (in the unit of work that records it).

    An amended entry that invalidates the agency's answer watches the referral again from this delivery (its
    deadlines escalate again); an entry withdrawing the agency's part settles the watch; a referral is watched."""
    if delivery.handover_id is None:
        return
    payload = json.loads(delivery.payload)
    watches, key = uow.watches, (delivery.handover_id, delivery.agency_code)
    if withdrawn_from_agency(payload):
        await watches.settle_agency(*key)
    elif awaits_answer_again(payload):
        await watches.rearm(*key, agency_kind=agency_kind, subject=delivery.subject, now=now)
        log.info("referral.watch_rearmed", handover_id=delivery.handover_id, agency=delivery.agency_code)
    elif is_referral(agency_kind=agency_kind, webhook_type=delivery.event_type, payload=payload):
        await watches.watch(*key, agency_kind=agency_kind, subject=delivery.subject, delivered_at=now)


async def record_answer(*, uow: NotifierUow, event: CloudEvent) -> bool:
    """An agency answered: its referral no longer escalates (an answer may even arrive before the delivery is
    recorded as delivered; the watch then starts answered). False when the answer does not count."""
    answered = ReferralAnsweredV1.model_validate(event.data)
    if not answer_counts(answered.answer):
        return False
    async with uow:
        await uow.watches.answer(
            answered.handover_id,
            answered.agency_code,
            subject=event.subject,
            answered_at=answered.answered_at,
            answer=answered.answer.value,
        )
    log.info(
        "referral.answered", handover_id=answered.handover_id, agency=answered.agency_code, answer=answered.answer.value
    )
    return True
