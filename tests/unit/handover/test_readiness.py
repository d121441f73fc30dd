"""Readiness of a release: each transition of each item (pending, at risk, done) and of the whole."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.handover import ReferralKind
from contracts.release_notice import Medication
from services.handover.domain.readiness import Item, Readiness, ReadinessFacts, ReferralProgress, assess
from services.handover.domain.referrals import ReferralStatus as S

RELEASE = date(2026, 12, 10)
FAR = datetime(2026, 12, 1, 9, tzinfo=UTC)  # nine days before
NEAR = datetime(2026, 12, 8, 12, tzinfo=UTC)  # 36 hours before
NEEDS = frozenset({ReferralKind.GP_REGISTRATION, ReferralKind.MENTAL_HEALTH, ReferralKind.REPORTING_INSTRUCTIONS})
MEDS = [
    Medication(name="Sertraline", strength="100 mg", dose="1", frequency="daily", route="oral", supply_days_given=14)
]


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def facts(*referrals: ReferralProgress, **overrides) -> ReadinessFacts:  # type: ignore[no-untyped-def]
    values = {
        "release_date": RELEASE,
        "registration_needed": True,
        "medications": MEDS,
        "needs": NEEDS,
        "referrals": list(referrals),
    }
    return ReadinessFacts(**{**values, **overrides})


def item(readiness, which: Item) -> Readiness:  # type: ignore[no-untyped-def]
    return next(i.status for i in readiness.items if i.item == which)


GP_ASKED = ReferralProgress(ReferralKind.GP_REGISTRATION, S.REQUESTED)
GP_DONE = ReferralProgress(ReferralKind.GP_REGISTRATION, S.ACCEPTED)
MH_ASKED = ReferralProgress(ReferralKind.MENTAL_HEALTH, S.RECEIVED)
MH_DONE = ReferralProgress(ReferralKind.MENTAL_HEALTH, S.ACCEPTED, first_appointment_at=at(12))
PDU_ASKED = ReferralProgress(ReferralKind.REPORTING_INSTRUCTIONS, S.REQUESTED)
PDU_DONE = ReferralProgress(ReferralKind.REPORTING_INSTRUCTIONS, S.ACCEPTED, report_at=at(10, 14))


@pytest.mark.hazard("H27")
def test_pending_far_from_release_and_at_risk_within_the_window() -> None:
    waiting = facts(GP_ASKED, MH_ASKED, PDU_ASKED)
    assert assess(waiting, now=FAR).status == Readiness.PENDING
    near = assess(waiting, now=NEAR)
    assert near.status == Readiness.AT_RISK
    assert {i.status for i in near.items if i.item != Item.MEDICATION} == {Readiness.AT_RISK}
    assert assess(waiting, now=NEAR, at_risk_hours=24).status == Readiness.PENDING  # configurable window


def test_everything_answered_is_done_even_close_to_release() -> None:
    done = assess(facts(GP_DONE, MH_DONE, PDU_DONE), now=NEAR)
    assert done.status == Readiness.DONE and {i.status for i in done.items} == {Readiness.DONE}


@pytest.mark.parametrize(
    ("which", "before", "after"),
    [
        (Item.GP, GP_ASKED, GP_DONE),
        (Item.MENTAL_HEALTH, MH_ASKED, MH_DONE),
        (Item.REPORTING, PDU_ASKED, PDU_DONE),
        (Item.MENTAL_HEALTH, MH_DONE, ReferralProgress(ReferralKind.MENTAL_HEALTH, S.COMPLETED)),
    ],
)
def test_each_item_moves_from_pending_or_at_risk_to_done(
    which: Item, before: ReferralProgress, after: ReferralProgress
) -> None:
    others = [r for r in (GP_DONE, MH_DONE, PDU_DONE) if r.kind != before.kind]
    if before.status != S.ACCEPTED:
        assert item(assess(facts(before, *others), now=FAR), which) == Readiness.PENDING
        assert item(assess(facts(before, *others), now=NEAR), which) == Readiness.AT_RISK
    assert item(assess(facts(after, *others), now=NEAR), which) == Readiness.DONE


def test_a_registered_practice_is_done_once_it_has_the_pack() -> None:
    received = ReferralProgress(ReferralKind.GP_REGISTRATION, S.RECEIVED)
    assert (
        item(assess(facts(received, MH_DONE, PDU_DONE, registration_needed=False), now=FAR), Item.GP) == Readiness.DONE
    )
    assert item(assess(facts(received, MH_DONE, PDU_DONE), now=FAR), Item.GP) == Readiness.PENDING


@pytest.mark.hazard("H21")
def test_an_appointment_before_a_later_release_date_no_longer_counts() -> None:
    moved = facts(GP_DONE, MH_DONE, PDU_DONE, release_date=date(2026, 12, 14))
    readiness = assess(moved, now=FAR)
    assert item(readiness, Item.MENTAL_HEALTH) == Readiness.PENDING
    assert item(readiness, Item.REPORTING) == Readiness.PENDING
    # Brought forward instead: both still count.
    assert assess(facts(GP_DONE, MH_DONE, PDU_DONE, release_date=date(2026, 12, 9)), now=FAR).status == Readiness.DONE


@pytest.mark.hazard("H24")
def test_all_rejected_or_blocked_is_at_risk_whatever_the_date() -> None:
    rejected = ReferralProgress(ReferralKind.MENTAL_HEALTH, S.REJECTED)
    readiness = assess(facts(GP_DONE, rejected, PDU_DONE), now=FAR)
    assert item(readiness, Item.MENTAL_HEALTH) == Readiness.AT_RISK and readiness.status == Readiness.AT_RISK
    blocked = facts(GP_DONE, PDU_DONE, blocked={ReferralKind.MENTAL_HEALTH: "no consent"})
    assert item(assess(blocked, now=FAR), Item.MENTAL_HEALTH) == Readiness.AT_RISK
    rerouted = ReferralProgress(ReferralKind.MENTAL_HEALTH, S.REQUESTED)
    assert item(assess(facts(GP_DONE, rejected, rerouted, PDU_DONE), now=FAR), Item.MENTAL_HEALTH) == Readiness.PENDING


@pytest.mark.hazard("H23")
def test_medication_moves_to_done_when_a_prescriber_is_booked_in_time() -> None:
    short = [MEDS[0].model_copy(update={"supply_days_given": 2})]
    waiting = facts(GP_ASKED, MH_DONE, PDU_DONE, medications=short)
    assert item(assess(waiting, now=FAR), Item.MEDICATION) == Readiness.PENDING  # registration takes 3 days
    assert item(assess(waiting, now=NEAR), Item.MEDICATION) == Readiness.AT_RISK
    registered = facts(
        GP_DONE,
        ReferralProgress(ReferralKind.MENTAL_HEALTH, S.ACCEPTED, first_appointment_at=at(11)),
        PDU_DONE,
        medications=short,
    )
    assert item(assess(registered, now=NEAR), Item.MEDICATION) == Readiness.DONE


def test_items_not_needed_are_not_listed() -> None:
    readiness = assess(facts(GP_DONE, needs=frozenset({ReferralKind.GP_REGISTRATION})), now=FAR)
    assert {i.item for i in readiness.items} == {Item.GP, Item.MEDICATION}
    assert readiness.status == Readiness.DONE
    with_sms = facts(GP_DONE, needs=frozenset({ReferralKind.GP_REGISTRATION, ReferralKind.SUBSTANCE_MISUSE}))
    assert item(assess(with_sms, now=FAR + timedelta(days=0)), Item.SUBSTANCE_MISUSE) == Readiness.PENDING


@pytest.mark.hazard("H25")
def test_a_referral_that_never_reached_its_agency_is_at_risk_far_from_release_until_delivered() -> None:
    lost = ReferralProgress(
        ReferralKind.MENTAL_HEALTH,
        S.REQUESTED,
        delivery="dead_lettered",
        delivery_detail="schedule exhausted: HTTP 500",
    )
    readiness = assess(facts(GP_ASKED, lost, PDU_ASKED), now=FAR)
    assert item(readiness, Item.MENTAL_HEALTH) == Readiness.AT_RISK
    detail = next(i.detail for i in readiness.items if i.item == Item.MENTAL_HEALTH)
    assert "never reached" in detail and "HTTP 500" in detail
    delivered = ReferralProgress(ReferralKind.MENTAL_HEALTH, S.REQUESTED, delivery="delivered")
    assert item(assess(facts(GP_ASKED, delivered, PDU_ASKED), now=FAR), Item.MENTAL_HEALTH) == Readiness.PENDING
    answered_anyway = ReferralProgress(
        ReferralKind.MENTAL_HEALTH, S.ACCEPTED, first_appointment_at=at(12), delivery="failed"
    )
    assert item(assess(facts(GP_ASKED, answered_anyway, PDU_ASKED), now=FAR), Item.MENTAL_HEALTH) == Readiness.DONE
