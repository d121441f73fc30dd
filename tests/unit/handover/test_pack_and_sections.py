"""Every section of the pack, and data minimisation for every kind of agency."""

from __future__ import annotations

import pytest

from contracts.handover import AgencyKind
from services.handover.domain.minimise import SECTIONS_BY_KIND, sections_for
from services.handover.domain.pack import build_pack
from services.handover.domain.referral_routing import route
from tests.unit.handover.factories import DIRECTORY, notice


def full_pack(**options):  # type: ignore[no-untyped-def]
    person = notice(full=True, **options)
    return person, build_pack(person, route(person, DIRECTORY))


def test_every_section_of_a_full_notice_is_in_the_pack() -> None:
    person, pack = full_pack()
    assert pack.patient_demographics.nhs_number == person.nhs_number
    assert pack.release.date == person.release.date and pack.release.destination == person.release.destination
    assert pack.gp_practice.registration_needed and pack.gp_practice.registration_requested_from.code == "A99001"  # type: ignore[union-attr]
    assert pack.allergies_and_adverse_reactions == person.allergies
    assert [m.name for m in pack.medications] == ["Sertraline", "Methadone oral solution"]
    assert pack.mental_health is not None and pack.mental_health.referral == "requested"
    assert pack.mental_health.crisis_plan == person.mental_health.crisis_plan  # type: ignore[union-attr]
    assert pack.substance_misuse is not None and pack.substance_misuse.referral == "requested"
    assert pack.reporting_instructions == person.reporting_instructions
    assert pack.contacts is not None and pack.contacts.reconnect_navigator == person.reconnect_navigator
    assert pack.contacts.prison_healthcare == person.prison_contact == pack.person_completing_record
    assert pack.legal_information is not None and pack.legal_information.section_117_aftercare is True


def test_a_known_practice_needs_no_registration() -> None:
    person, pack = full_pack(changes=lambda n: n.update(registered_gp={"ods_code": "A99001"}))
    assert not pack.gp_practice.registration_needed and pack.gp_practice.registered is not None
    assert pack.gp_practice.registration_requested_from is None


@pytest.mark.hazard("H29")
def test_without_consent_the_referral_is_withheld_and_the_pack_says_why() -> None:
    _, pack = full_pack(consent_to_share=False)
    assert pack.mental_health is not None and pack.mental_health.referral == "withheld"
    assert "No consent to share" in (pack.mental_health.withheld_reason or "")
    assert "mental_health_referral_withheld" in {alert.code for alert in pack.safety_alerts}
    for kind in AgencyKind:
        sections = sections_for(kind, pack)
        assert sections.mental_health is None and sections.mental_health_summary is None and sections.risk_flags is None


@pytest.mark.hazard("H29")
def test_substance_misuse_without_consent_or_service() -> None:
    person = notice(full=True, changes=lambda n: n["substance_misuse"].update(consent_to_refer=False))
    assert build_pack(person, route(person, DIRECTORY)).substance_misuse.referral == "withheld"  # type: ignore[union-attr]
    nowhere = notice(place="teesside", substance_misuse=True)
    pack = build_pack(nowhere, route(nowhere, DIRECTORY))
    assert pack.substance_misuse.referral == "no_service"  # type: ignore[union-attr]
    assert "no_agency_covers" in {alert.code for alert in pack.safety_alerts}


EXPECTED = {
    AgencyKind.GP_PRACTICE: {
        "present": {"gp_practice", "medications", "mental_health_summary", "allergies_and_adverse_reactions"},
        "absent": {"mental_health", "reporting_instructions", "legal_information", "substance_misuse"},
    },
    AgencyKind.COMMUNITY_MENTAL_HEALTH_TEAM: {
        "present": {"mental_health", "medications", "legal_information"},
        "absent": {"reporting_instructions", "substance_misuse", "mental_health_summary"},
    },
    AgencyKind.RECONNECT: {
        "present": {"mental_health", "medications", "substance_misuse", "legal_information"},
        "absent": {"reporting_instructions"},
    },
    AgencyKind.SUBSTANCE_MISUSE_SERVICE: {
        "present": {"substance_misuse", "medications", "risk_flags"},
        "absent": {"mental_health", "reporting_instructions", "legal_information"},
    },
    AgencyKind.PROBATION_DELIVERY_UNIT: {
        "present": {"reporting_instructions", "risk_flags", "contacts", "legal_information"},
        "absent": {
            "medications",
            "mental_health",
            "mental_health_summary",
            "allergies_and_adverse_reactions",
            "gp_practice",
            "substance_misuse",
        },
    },
    AgencyKind.PRISON_HEALTHCARE: {
        "present": {"safety_alerts", "contacts"},
        "absent": {"medications", "mental_health", "reporting_instructions"},
    },
}


@pytest.mark.hazard("H02")
@pytest.mark.parametrize("kind", list(AgencyKind))
def test_each_kind_of_agency_receives_only_its_sections(kind: AgencyKind) -> None:
    _, pack = full_pack()
    given = set(sections_for(kind, pack).model_dump(exclude_none=True))
    assert given <= set(SECTIONS_BY_KIND[kind])
    assert EXPECTED[kind]["present"] <= given, kind
    assert not EXPECTED[kind]["absent"] & given, kind
    assert "patient_demographics" in given


@pytest.mark.hazard("H02")
def test_probation_gets_licence_conditions_but_no_mental_health_act_detail() -> None:
    _, pack = full_pack()
    legal = sections_for(AgencyKind.PROBATION_DELIVERY_UNIT, pack).legal_information
    assert legal is not None and legal.licence_conditions
    assert legal.mental_health_act_status is None and legal.section_117_aftercare is None


@pytest.mark.hazard("H02")
def test_the_gp_summary_leaves_out_the_crisis_plan() -> None:
    _, pack = full_pack()
    summary = sections_for(AgencyKind.GP_PRACTICE, pack).mental_health_summary
    assert summary is not None and summary.risk_flags and "crisis_plan" not in summary.model_dump()
