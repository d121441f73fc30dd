"""A change to a release names the answers it invalidates, tells only the agencies whose part changed, and
moves a referral whose agency no longer covers the address (pure rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.handover import AgencyKind, ReferralKind
from contracts.release_notice import ReportingInstructions
from services.handover.domain.distribution import changes_for
from services.handover.domain.invalidation import AnsweredReferral, ReleaseChange, invalidation
from services.handover.domain.pack import build_pack
from services.handover.domain.readiness import Readiness, ReadinessFacts, ReferralProgress, assess
from services.handover.domain.referral_routing import area_of, moved_out_of_area, route
from services.handover.domain.referrals import ReferralStatus
from tests.unit.handover.factories import DIRECTORY, notice

RELEASE = date(2026, 12, 10)
LATER = ReleaseChange(RELEASE, date(2026, 12, 14))
EARLIER = ReleaseChange(RELEASE, date(2026, 12, 7))


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def confirmed(report_at: datetime) -> AnsweredReferral:
    return AnsweredReferral(ReferralKind.REPORTING_INSTRUCTIONS, ReferralStatus.ACCEPTED, report_at=report_at)


@pytest.mark.hazard("H40")
def test_a_release_moved_past_the_confirmed_reporting_time_invalidates_the_confirmation() -> None:
    found = invalidation(confirmed(at(10, 15)), LATER)
    assert found is not None and found.item == "reporting_instructions_confirmation"
    assert found.reason.startswith("confirmation invalidated by release date change")
    assert "2026-12-14" in found.reason and found.before == at(10, 15).isoformat()


def test_a_confirmation_that_still_fits_is_kept() -> None:
    assert invalidation(confirmed(at(15)), LATER) is None
    assert invalidation(confirmed(at(10, 15)), EARLIER) is None
    unconfirmed = AnsweredReferral(ReferralKind.REPORTING_INSTRUCTIONS, ReferralStatus.REQUESTED)
    assert invalidation(unconfirmed, LATER) is None


@pytest.mark.hazard("H40")
def test_a_correction_of_the_reporting_instructions_asks_probation_again() -> None:
    found = invalidation(confirmed(at(15)), ReleaseChange(RELEASE, RELEASE, reporting_corrected=True))
    assert found is not None and "correction" in found.reason


@pytest.mark.hazard("H40")
def test_an_accepted_appointment_before_the_new_date_is_invalidated_and_one_after_it_kept() -> None:
    early = AnsweredReferral(ReferralKind.MENTAL_HEALTH, ReferralStatus.ACCEPTED, first_appointment_at=at(12))
    found = invalidation(early, LATER)
    assert found is not None and found.item == "first_appointment"
    late = AnsweredReferral(ReferralKind.MENTAL_HEALTH, ReferralStatus.ACCEPTED, first_appointment_at=at(16))
    assert invalidation(late, LATER) is None


@pytest.mark.hazard("H41")
def test_a_practitioner_change_changes_only_probations_part() -> None:
    person = notice(place="durham", full=True)
    assert person.reporting_instructions is not None
    corrected = person.model_copy(
        update={
            "reporting_instructions": ReportingInstructions(
                office=person.reporting_instructions.office,
                report_at=person.reporting_instructions.report_at,
                practitioner="Another practitioner (fictitious)",
            )
        }
    )
    before = build_pack(person, route(person, DIRECTORY))
    after = build_pack(corrected, route(corrected, DIRECTORY))
    probation = changes_for(AgencyKind.PROBATION_DELIVERY_UNIT, before, after)
    assert [change.section for change in probation] == ["reporting_instructions"]
    for kind in (AgencyKind.COMMUNITY_MENTAL_HEALTH_TEAM, AgencyKind.GP_PRACTICE, AgencyKind.RECONNECT):
        assert changes_for(kind, before, after) == [], kind


def test_a_risk_flag_change_reaches_probation_though_it_never_sees_the_mental_health_section() -> None:
    person = notice(place="durham", full=True)
    assert person.mental_health is not None
    flagged = person.model_copy(update={"mental_health": person.mental_health.model_copy(update={"risk_flags": []})})
    before, after = build_pack(person, route(person, DIRECTORY)), build_pack(flagged, route(flagged, DIRECTORY))
    assert [c.section for c in changes_for(AgencyKind.PROBATION_DELIVERY_UNIT, before, after)] == ["risk_flags"]


@pytest.mark.hazard("H42")
def test_an_address_moved_out_of_the_agencys_area_moves_the_referral() -> None:
    person = notice(place="durham", full=True)
    moved = notice(place="teesside", full=True)
    by_code = {agency.code: agency for agency in DIRECTORY}
    fresh = route(moved, DIRECTORY)
    area = area_of(moved, DIRECTORY)
    assert moved_out_of_area(by_code["PDU-DUR"], area, fresh.agency_for(ReferralKind.REPORTING_INSTRUCTIONS))
    assert not moved_out_of_area(
        by_code["PDU-DUR"],
        area_of(person, DIRECTORY),
        route(person, DIRECTORY).agency_for(ReferralKind.REPORTING_INSTRUCTIONS),
    )


@pytest.mark.hazard("H40")
def test_readiness_says_why_an_item_awaits_an_answer_again() -> None:
    why = "confirmation invalidated by release date change: ..."
    facts = ReadinessFacts(
        release_date=date(2026, 12, 30),
        registration_needed=False,
        medications=[],
        needs=frozenset({ReferralKind.REPORTING_INSTRUCTIONS}),
        referrals=[ReferralProgress(ReferralKind.REPORTING_INSTRUCTIONS, ReferralStatus.REQUESTED, invalidated=why)],
    )
    item = next(i for i in assess(facts, now=at(1)).items if i.item.value == "reporting_instructions")
    assert item.status == Readiness.PENDING and item.detail.startswith(why)
