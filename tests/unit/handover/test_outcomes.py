"""The outcomes report's figures over a small hand-made dataset, each computed by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.handover import ReferralKind
from services.handover.domain.outcomes import (
    Ending,
    EscalationCause,
    Figure,
    Measure,
    ReferralOutcome,
    ReleaseOutcome,
    nearest_rank,
    report,
    snapshot,
)
from services.handover.domain.readiness import Item, ReadinessFacts, ReferralProgress
from services.handover.domain.readiness import Readiness as R
from services.handover.domain.referrals import ReferralStatus

DEC = datetime(2026, 12, 3, 9, tzinfo=UTC)
JAN = datetime(2027, 1, 5, 9, tzinfo=UTC)


def kept(handover_id: str, establishment: str, at: datetime, ending: Ending, **items: R) -> ReleaseOutcome:
    return ReleaseOutcome(
        handover_id, "A1234BC", establishment, at.date(), ending, at, tuple((Item(k), v) for k, v in items.items())
    )


def answered(handover_id: str, agency: str, kind: str, hours: float, **more: Any) -> ReferralOutcome:
    return ReferralOutcome(handover_id, agency, kind, DEC, DEC + timedelta(hours=hours), **more)


KEPT = [
    kept("h1", "DMI", DEC, Ending.RELEASED, gp=R.DONE, medication=R.DONE),
    kept("h2", "DMI", DEC, Ending.RELEASED, gp=R.AT_RISK, medication=R.DONE, mental_health_referral=R.DONE),
    kept("h3", "DMI", DEC, Ending.RELEASED, gp=R.DONE, medication=R.AT_RISK),
    kept("h4", "DMI", DEC, Ending.RELEASE_CANCELLED, gp=R.PENDING),
    kept("h5", "BMI", JAN, Ending.RELEASED, gp=R.DONE),
]
GP, CMHT = "gp_practice", "community_mental_health_team"
REFERRALS = [
    answered("h1", "A99001", GP, 2),
    answered("h2", "A99001", GP, 10, rejection_reason="not_registering", rerouted=True),
    answered("h2", "A99009", GP, 4, rejection_reason="not_registering", escalated=True),
    answered("h3", "A99001", GP, 30, attended=True),
    answered("h2", "CMHT-DUR", CMHT, 6, attended=False),
    ReferralOutcome("h3", "CMHT-DUR", CMHT),  # never delivered nor answered: no time
    answered("h5", "A99003", GP, 1, attended=True),
    answered("elsewhere", "A99001", GP, 99),  # not of a kept case: left out
]


def figure(figures: list[Figure], measure: Measure, **where: str) -> Figure:
    (found,) = [f for f in figures if f.measure == measure and all(getattr(f, k) == v for k, v in where.items())]
    return found


@pytest.mark.hazard("H77")
def test_ready_before_release_is_the_share_of_releases_whose_item_was_done() -> None:
    figures = report(KEPT, REFERRALS)
    dec = {"month": "2026-12", "establishment": "DMI"}
    assert figure(figures, Measure.RELEASES, **dec).count == 3  # h1-h3; h4 was cancelled
    assert figure(figures, Measure.WITHDRAWN, **dec, key="release_cancelled").count == 1
    gp = figure(figures, Measure.READY_BEFORE_RELEASE, **dec, key="gp")
    assert (gp.count, gp.total, gp.value) == (2, 3, 0.6667)  # h1, h3 of h1-h3
    meds = figure(figures, Measure.READY_BEFORE_RELEASE, **dec, key="medication")
    assert (meds.count, meds.total, meds.value) == (2, 3, 0.6667)  # h1, h2
    mh = figure(figures, Measure.READY_BEFORE_RELEASE, **dec, key="mental_health_referral")
    assert (mh.count, mh.total, mh.value) == (1, 1, 1.0)  # only h2 needed it
    jan = figure(figures, Measure.READY_BEFORE_RELEASE, month="2027-01", establishment="BMI", key="gp")
    assert (jan.count, jan.total) == (1, 1)


def test_answer_times_per_agency_kind_median_and_nearest_rank_90th_percentile() -> None:
    figures = report(KEPT, REFERRALS)
    dec = {"month": "2026-12", "establishment": "DMI"}
    median = figure(figures, Measure.ANSWER_HOURS_MEDIAN, **dec, agency_kind=GP)
    p90 = figure(figures, Measure.ANSWER_HOURS_P90, **dec, agency_kind=GP)
    # GP times 2, 10, 4, 30 -> sorted 2, 4, 10, 30: median (4 + 10) / 2 = 7; 90th: rank ceil(3.6) = 4 -> 30
    assert (median.count, median.value, p90.value) == (4, 7.0, 30.0)
    cmht = figure(figures, Measure.ANSWER_HOURS_MEDIAN, **dec, agency_kind=CMHT)
    assert (cmht.count, cmht.value) == (1, 6.0)  # the unanswered referral has no time
    assert nearest_rank([5, 1, 3], 50) == 3 and nearest_rank([7], 90) == 7


def test_rejections_reroutes_escalations_and_attendance_per_agency() -> None:
    figures = report(KEPT, REFERRALS)
    dec = {"month": "2026-12", "establishment": "DMI"}
    assert figure(figures, Measure.REJECTIONS, **dec, agency="A99001", key="not_registering").count == 1
    assert figure(figures, Measure.REJECTIONS, **dec, agency="A99009", key="not_registering").count == 1
    assert figure(figures, Measure.REROUTES, **dec, agency="A99001").count == 1
    assert figure(figures, Measure.ESCALATIONS, **dec, agency="A99009").count == 1
    gp = figure(figures, Measure.FIRST_APPOINTMENTS_ATTENDED, **dec, agency="A99001")
    assert (gp.count, gp.total, gp.value) == (1, 1, 1.0)
    cmht = figure(figures, Measure.FIRST_APPOINTMENTS_ATTENDED, **dec, agency="CMHT-DUR")
    assert (cmht.count, cmht.total, cmht.value) == (0, 1, 0.0)
    assert not [f for f in figures if f.measure == Measure.REROUTES and f.agency == "A99009"]


def test_a_referral_escalated_by_any_path_counts_once() -> None:
    after, before, undeliverable = (
        EscalationCause.AFTER_DELIVERY,
        EscalationCause.BEFORE_RELEASE,
        EscalationCause.UNDELIVERABLE,
    )
    referrals = [
        ReferralOutcome("h1", "A99001", GP, escalations=frozenset({after, before})),  # both deadlines: 1
        ReferralOutcome("h2", "A99001", GP, escalated=True, escalations=frozenset({before})),  # rejection too: 1
        ReferralOutcome("h3", "A99001", GP, escalations=frozenset({undeliverable})),  # nobody else to take it: 1
        ReferralOutcome("h3", "CMHT-DUR", CMHT),  # answered in time: 0
        ReferralOutcome("h5", "A99003", GP, escalations=frozenset({after})),  # January at BMI: 1
    ]
    figures = report(KEPT, referrals)
    # December at DMI: h1, h2 and h3 at A99001 -> 3 referrals (4 escalations); January at BMI: 1.
    counts = {(f.month, f.establishment, f.agency): f.count for f in figures if f.measure == Measure.ESCALATIONS}
    assert counts == {("2026-12", "DMI", "A99001"): 3, ("2027-01", "BMI", "A99003"): 1}


def test_an_agency_view_leaves_out_the_establishments_figures() -> None:
    figures = report(KEPT, [r for r in REFERRALS if r.agency_code == "CMHT-DUR"], releases=False)
    assert {f.measure for f in figures} == {
        Measure.ANSWER_HOURS_MEDIAN,
        Measure.ANSWER_HOURS_P90,
        Measure.FIRST_APPOINTMENTS_ATTENDED,
    }
    assert {f.agency for f in figures} <= {"CMHT-DUR", ""}


@pytest.mark.hazard("H77")
def test_the_snapshot_keeps_each_items_readiness_at_the_moment_of_release() -> None:
    facts = ReadinessFacts(
        release_date=date(2026, 12, 3),
        registration_needed=True,
        medications=[],
        needs=frozenset({ReferralKind.GP_REGISTRATION, ReferralKind.MENTAL_HEALTH}),
        referrals=[
            ReferralProgress(ReferralKind.GP_REGISTRATION, ReferralStatus.ACCEPTED),
            ReferralProgress(ReferralKind.MENTAL_HEALTH, ReferralStatus.REQUESTED),
        ],
    )
    outcome = snapshot(
        handover_id="h1",
        prison_number="A1234BC",
        establishment_code="DMI",
        facts=facts,
        ending=Ending.RELEASED,
        now=DEC,
    )
    assert outcome.items == ((Item.GP, R.DONE), (Item.MEDICATION, R.DONE), (Item.MENTAL_HEALTH, R.AT_RISK))
    assert (outcome.month, outcome.recorded_at, outcome.ending) == ("2026-12", DEC, Ending.RELEASED)
