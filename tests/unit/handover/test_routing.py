"""Routing: which agency takes which referral, and why (postcode, local authority, establishment)."""

from __future__ import annotations

import pytest

from contracts.handover import AgencyKind, ReferralKind
from services.handover.domain.referral_routing import age_on, area_of, next_candidate, route
from tests.unit.handover.factories import DIRECTORY, agency, notice


def codes(plan) -> dict[ReferralKind, str]:  # type: ignore[no-untyped-def]
    return {item.kind: item.agency.code for item in plan.routed}


@pytest.mark.hazard("H28")
def test_a_destination_address_routes_by_its_postcode_district() -> None:
    plan = route(notice(place="durham", full=True), DIRECTORY)
    assert codes(plan) == {
        ReferralKind.GP_REGISTRATION: "A99001",
        ReferralKind.MENTAL_HEALTH: "CMHT-DUR",
        ReferralKind.SUBSTANCE_MISUSE: "SMS-DUR",
        ReferralKind.REPORTING_INSTRUCTIONS: "PDU-DUR",
    }
    assert all("postcode district DH" in item.reason for item in plan.routed)
    assert plan.agency_for(ReferralKind.GP_REGISTRATION).reason.startswith("registration request")  # type: ignore[union-attr]


@pytest.mark.hazard("H28")
def test_no_fixed_abode_routes_by_the_last_local_authority() -> None:
    plan = route(notice(place="birmingham", no_fixed_abode=True), DIRECTORY)
    assert codes(plan)[ReferralKind.GP_REGISTRATION] == "A99003"
    assert codes(plan)[ReferralKind.MENTAL_HEALTH] == "CMHT-BHM"
    assert "local authority of last address (Birmingham)" in plan.area.described


@pytest.mark.hazard("H28")
def test_no_fixed_abode_without_a_last_address_routes_by_the_establishment() -> None:
    person = notice(place="teesside", no_fixed_abode=True, last_known_local_authority=None)
    area = area_of(person, DIRECTORY)
    assert area.local_authority == "Middlesbrough" and "establishment HHI" in area.described
    plan = route(person, DIRECTORY)
    assert codes(plan)[ReferralKind.GP_REGISTRATION] == "A99002"
    # No mental-health team in Teesside: RECONNECT takes the referral, and the reason says so.
    routed = plan.agency_for(ReferralKind.MENTAL_HEALTH)
    assert routed is not None and routed.agency.code == "RECONNECT-TEES"
    assert "no team of the preferred kind" in routed.reason


@pytest.mark.hazard("H28")
def test_a_registered_practice_is_used_and_one_outside_the_directory_is_a_gap() -> None:
    registered = notice(changes=lambda n: n.update(registered_gp={"ods_code": "A99003"}))
    assert route(registered, DIRECTORY).agency_for(ReferralKind.GP_REGISTRATION).agency.code == "A99003"  # type: ignore[union-attr]
    unknown = notice(changes=lambda n: n.update(registered_gp={"ods_code": "Z12345"}))
    plan = route(unknown, DIRECTORY)
    assert plan.agency_for(ReferralKind.GP_REGISTRATION) is None
    assert "Z12345" in plan.unrouted[0].detail


@pytest.mark.hazard("H28")
def test_eligibility_by_age_and_referral_kind() -> None:
    young = notice(changes=lambda n: n.update(date_of_birth="2009-06-01"))
    assert codes(route(young, DIRECTORY))[ReferralKind.MENTAL_HEALTH] == "RECONNECT-DUR"  # CMHT-DUR takes 18+
    picky = [
        *DIRECTORY[:1],
        agency("CMHT-X", "community_mental_health_team", ["DH1", "DH2"], [], eligibility={"referral_kinds": []}),
    ]
    assert ReferralKind.MENTAL_HEALTH not in codes(route(notice(), picky))


@pytest.mark.hazard("H28")
def test_priority_orders_candidates_and_inactive_agencies_are_skipped() -> None:
    first = agency("CMHT-A", "community_mental_health_team", ["DH1", "DH2"], [], priority=5)
    off = agency("CMHT-0", "community_mental_health_team", ["DH1", "DH2"], [], priority=1, active=False)
    plan = route(notice(), [*DIRECTORY, first, off])
    assert codes(plan)[ReferralKind.MENTAL_HEALTH] == "CMHT-A"


@pytest.mark.hazard("H24")
def test_after_a_rejection_the_next_candidate_is_asked_and_none_when_all_were() -> None:
    person = notice()
    area = area_of(person, DIRECTORY)
    age = age_on(person.date_of_birth, person.release.date)
    nxt = next_candidate(ReferralKind.MENTAL_HEALTH, area, DIRECTORY, age=age, tried=["CMHT-DUR"])
    assert nxt is not None and nxt.agency.kind == AgencyKind.RECONNECT
    assert (
        next_candidate(ReferralKind.MENTAL_HEALTH, area, DIRECTORY, age=age, tried=["CMHT-DUR", "RECONNECT-DUR"])
        is None
    )


def test_what_a_release_needs() -> None:
    assert ReferralKind.MENTAL_HEALTH not in codes(route(notice(consent_to_share=False), DIRECTORY))
    remand = notice(changes=lambda n: n["release"].update(type="remand"))
    assert ReferralKind.REPORTING_INSTRUCTIONS not in codes(route(remand, DIRECTORY))
    assert ReferralKind.SUBSTANCE_MISUSE not in codes(route(notice(), DIRECTORY))
