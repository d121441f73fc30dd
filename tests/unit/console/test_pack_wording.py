"""A pack's sections read as words on an agency's referral page: records people know in their usual form, each
medicine on its own line with its supply and next dose, UK dates and times, and nothing dropped."""

from __future__ import annotations

import pytest

from contracts.handover import AgencyKind
from services.console.domain.pack_wording import (
    Row,
    phrase,
    section_items,
    section_rows,
    section_title,
    sentence,
    value_text,
)
from services.console.domain.uk_time import uk_wall_clock


def test_section_and_field_names_read_as_people_write_them() -> None:
    assert section_title("gp_practice") == "GP practice"
    assert section_title("allergies_and_adverse_reactions") == "Allergies and adverse reactions"
    assert phrase("release.date") == "release date"
    assert sentence("community mental health team covering postcode district DH1").startswith("Community")
    assert sentence("community mental health team covering postcode district DH1").endswith("DH1")
    assert [row.label for row in section_rows("patient", {"nhs_number": "9990000018"})] == ["NHS number"]


def test_the_release_destination_is_an_address_on_one_line() -> None:
    release = {
        "establishment_code": "DHI",
        "date": "2026-12-04",
        "type": "conditional_release",
        "destination": {
            "kind": "address",
            "address": {"lines": ["1 Test Street"], "town": "Durham", "postcode": "DH1 1AA", "local_authority": None},
        },
    }
    assert section_rows("release", release) == [
        Row("Prison", "DHI"),
        Row("Date", "4 December 2026"),
        Row("Type of release", "Conditional release"),
        Row("Destination", "1 Test Street, Durham, DH1 1AA"),
    ]
    no_fixed_abode = {"kind": "no_fixed_abode", "last_known_local_authority": "County Durham"}
    assert value_text("destination", no_fixed_abode) == "No fixed abode (last known local authority: County Durham)"


def test_an_agency_is_its_name_code_and_kind_in_words() -> None:
    gp = {
        "registered": None,
        "registration_needed": True,
        "registration_requested_from": {"code": "A99001", "kind": "gp_practice", "name": "Test Surgery"},
    }
    assert section_rows("gp_practice", gp) == [
        Row("Registration needed", "Yes"),
        Row("Registration requested from", "Test Surgery (A99001), GP practice"),
    ]
    assert AgencyKind.COMMUNITY_MENTAL_HEALTH_TEAM.label == "community mental health team"
    assert all(kind.label for kind in AgencyKind)


@pytest.mark.hazard("H94")
def test_each_medicine_is_a_line_with_its_supply_next_dose_and_flags() -> None:
    methadone = {
        "name": "Methadone oral solution",
        "strength": "1 mg/ml",
        "dose": "60 ml",
        "frequency": "once daily",
        "route": "oral",
        "supply_days_given": 1,
        "next_dose_due": "2027-07-05T08:00:00Z",
        "controlled_drug": True,
        "opioid_substitution": True,
        "depot": False,
    }
    (row,) = section_rows("medications", [methadone])
    assert row.label == "Methadone oral solution 1 mg/ml"
    assert row.text == (
        "60 ml, once daily, oral; 1 day's supply given; next dose due 5 July 2027 at 09:00; controlled drug; "
        "opioid substitution treatment"
    )


def test_codes_become_words_and_free_text_is_left_alone() -> None:
    mental_health = {
        "urgency": "urgent",
        "risk_flags": ["self_harm", "suicide"],
        "care_coordinator": "Sam Example",
        "crisis_plan": "Call the crisis line; do not leave alone",
    }
    assert section_rows("mental_health", mental_health) == [
        Row("Urgency", "Urgent"),
        Row("Risk flags", "Self harm; Suicide"),
        Row("Care coordinator", "Sam Example"),
        Row("Crisis plan", "Call the crisis line; do not leave alone"),
    ]
    legal = {"mental_health_act_status": "section_37_41", "section_117_aftercare": True}
    assert section_rows("legal_information", legal) == [
        Row("Mental Health Act status", "Section 37/41"),
        Row("Section 117 aftercare", "Yes"),
    ]


@pytest.mark.hazard("H94")
def test_a_section_that_is_only_a_list_of_codes_is_its_items_not_a_row_repeating_its_heading() -> None:
    assert section_items("risk_flags", ["self_harm", "suicide"]) == ["Self harm", "Suicide"]
    assert section_items("notes", "Call before visiting") == ["Call before visiting"]
    assert section_items("mental_health", {"urgency": "urgent"}) is None
    assert section_items("medications", [{"name": "Sertraline"}]) is None


@pytest.mark.hazard("H94")
def test_an_unknown_field_is_still_shown() -> None:
    contact = {"name": "A Nurse", "role": "Nurse", "phone": "0100"}
    rows = section_rows("contacts", {"prison_healthcare": contact, "x": 1})
    assert rows == [Row("Prison healthcare", "A Nurse, Nurse, 0100"), Row("X", "1")]


@pytest.mark.hazard("H94")
def test_instants_are_shown_in_uk_time_winter_and_summer() -> None:
    assert uk_wall_clock("2026-12-04T09:30:00+00:00").strftime("%H:%M") == "09:30"
    assert uk_wall_clock("2027-07-04T09:30:00+00:00").strftime("%H:%M") == "10:30"
    assert uk_wall_clock("2027-07-04T09:30:00").strftime("%H:%M") == "10:30"  # stored without offset: UTC
