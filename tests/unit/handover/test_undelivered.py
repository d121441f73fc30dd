"""What a referral that could not be delivered leads to (pure): routed on at once, as a rejection is."""

from __future__ import annotations

import pytest

from contracts.handover import ReferralKind
from services.handover.domain.referrals import ReferralStatus
from services.handover.domain.undelivered import DeliveryFollowUp, undelivered_cause, undelivered_verdict


def verdict(**changes: object) -> DeliveryFollowUp:
    facts: dict[str, object] = {
        "delivery_status": "failed",
        "webhook_type": "handover.pack.issued",
        "referral_kind": ReferralKind.MENTAL_HEALTH,
        "referral_status": ReferralStatus.REQUESTED,
        "previous_delivery_status": None,
        "handover_state": "open",
        **changes,
    }
    return undelivered_verdict(**facts)  # type: ignore[arg-type]


@pytest.mark.hazard("H44")
def test_a_referral_whose_delivery_failed_for_good_is_routed_on_at_once() -> None:
    assert verdict() == DeliveryFollowUp.ROUTE_ON
    assert verdict(delivery_status="dead_lettered") == DeliveryFollowUp.ROUTE_ON
    assert verdict(webhook_type="handover.referral.rerouted") == DeliveryFollowUp.ROUTE_ON, (
        "a re-routed one moves on too"
    )
    assert verdict(handover_state="released") == DeliveryFollowUp.ROUTE_ON


@pytest.mark.hazard("H44")
def test_only_a_fresh_failure_of_an_unreceived_referral_of_a_live_handover_is_routed_on() -> None:
    assert verdict(delivery_status="delivered") == DeliveryFollowUp.RECORD
    assert verdict(webhook_type="handover.pack.withdrawn") == DeliveryFollowUp.RECORD
    assert verdict(referral_kind=ReferralKind.NOTIFICATION) == DeliveryFollowUp.RECORD, (
        "the prison's notice takes no answer"
    )
    assert verdict(referral_status=ReferralStatus.ACCEPTED) == DeliveryFollowUp.RECORD, "the agency has it already"
    assert verdict(previous_delivery_status="failed") == DeliveryFollowUp.RECORD, "routed on once for one failure"
    assert verdict(handover_state="withdrawn") == DeliveryFollowUp.RECORD
    cause = undelivered_cause("CMHT-DUR", "failed", "endpoint gone: HTTP 410")
    assert cause.startswith("CMHT-DUR could not be reached") and "HTTP 410" in cause
