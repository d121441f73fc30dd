"""What a referral that could not be delivered leads to. Pure.

A webhook that failed for good (a 4xx answer, 410 Gone, a disabled endpoint) or whose retry schedule was spent
means the agency does not have the referral and will not answer it. Waiting for an operator to fix the
endpoint would leave the person's care unarranged without anyone knowing, so the referral is handled as a
rejection is, at once: re-routed to the next eligible agency, or, when there is none, escalated to the prison
healthcare team and RECONNECT. The failed delivery stays replayable; the referral is not lost either way.
"""

from __future__ import annotations

from enum import StrEnum

from contracts.handover import ReferralKind
from services.handover.domain.case import ANSWERABLE
from services.handover.domain.referrals import ReferralStatus

FAILED_FOR_GOOD = frozenset({"failed", "dead_lettered"})
# Webhooks that carry a referral to its agency; outcomes of withdrawals and notifications do not change readiness.
REFERRAL_CARRYING = frozenset({"handover.pack.issued", "handover.pack.amended", "handover.referral.rerouted"})


class DeliveryFollowUp(StrEnum):
    RECORD = "record"  # note the delivery status on the referral; nothing else
    ROUTE_ON = "route_on"  # re-route to the next eligible agency, or escalate to the prison


def undelivered_verdict(
    *,
    delivery_status: str,
    webhook_type: str | None,
    referral_kind: ReferralKind,
    referral_status: ReferralStatus,
    previous_delivery_status: str | None,
    handover_state: str,
) -> DeliveryFollowUp:
    """Route a referral on when its delivery has just failed for good, the agency has not yet said it holds the
    referral (still "requested"), and the handover is live. A notification to the prison takes no answer and is
    not re-routed; a referral already routed on for the same failure is not routed on twice."""
    if delivery_status not in FAILED_FOR_GOOD or webhook_type not in REFERRAL_CARRYING:
        return DeliveryFollowUp.RECORD
    if referral_kind == ReferralKind.NOTIFICATION or referral_status != ReferralStatus.REQUESTED:
        return DeliveryFollowUp.RECORD
    if previous_delivery_status in FAILED_FOR_GOOD or handover_state not in ANSWERABLE:
        return DeliveryFollowUp.RECORD
    return DeliveryFollowUp.ROUTE_ON


def undelivered_cause(agency_code: str, delivery_status: str, reason: str | None) -> str:
    """Why the referral moves on, in words for the prison and the next agency (no personal data)."""
    how = "its delivery was dead-lettered" if delivery_status == "dead_lettered" else "its delivery failed for good"
    return f"{agency_code} could not be reached ({how}: {(reason or 'no answer')[:200]})"
