"""Synthetic people in custody and their release notices, for the demo, tests and benchmarks.

NHS numbers come from the 999 test range with valid check digits; names are made up; addresses use
real postcode districts (so routing works) with fictitious streets.
"""

from __future__ import annotations

import random
import string
from datetime import date, timedelta
from typing import Any, TypedDict

from contracts.identifiers import with_check_digit

GIVEN_NAMES = ["Alex", "Jordan", "Sam", "Casey", "Robin", "Jamie", "Morgan", "Taylor", "Charlie", "Riley"]
FAMILY_NAMES = ["Testperson", "Fictional", "Madeup", "Sampleton", "Exampleby", "Dummyfield", "Placeholder"]


class Place(TypedDict):
    """A town the synthetic people are released to: real postcode districts so that routing finds agencies."""

    town: str
    districts: list[str]
    establishment: str
    authority: str


PLACES: dict[str, Place] = {
    "durham": {"town": "Durham", "districts": ["DH1", "DH2"], "establishment": "DMI", "authority": "County Durham"},
    "teesside": {
        "town": "Middlesbrough",
        "districts": ["TS1", "TS3"],
        "establishment": "HHI",
        "authority": "Middlesbrough",
    },
    "birmingham": {"town": "Birmingham", "districts": ["B5", "B12"], "establishment": "BMI", "authority": "Birmingham"},
}


def nhs_number(rng: random.Random) -> str:
    while True:
        found = with_check_digit("999" + "".join(rng.choice(string.digits) for _ in range(6)))
        if found:
            return found


def prison_number(rng: random.Random) -> str:
    return (
        rng.choice(string.ascii_uppercase)
        + "".join(rng.choice(string.digits) for _ in range(4))
        + "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
    )


def release_notice(
    rng: random.Random | None = None,
    *,
    place: str = "durham",
    release_in_days: int = 14,
    today: date | None = None,
    no_fixed_abode: bool = False,
    last_known_local_authority: str | None = "same",
    establishment: str | None = None,
    consent_to_share: bool = True,
    supply_days: int | None = None,
    substance_misuse: bool = False,
    full: bool = False,
) -> dict[str, Any]:
    """A realistic release notice as prison healthcare would POST it (JSON-ready).

    ``full`` adds every optional section of design notes §3 (substance misuse, reporting instructions, the
    RECONNECT navigator, legal information); ``supply_days`` sets every item's supply; with no fixed abode,
    ``last_known_local_authority`` is the place's by default, None for "not known"."""
    rng = rng or random.Random()
    where = PLACES[place]
    today = today or date.today()
    born = today - timedelta(days=rng.randint(20 * 365, 60 * 365))
    destination: dict[str, Any]
    if no_fixed_abode:
        authority = where["authority"] if last_known_local_authority == "same" else last_known_local_authority
        destination = {"kind": "no_fixed_abode"}
        if authority:
            destination["last_known_local_authority"] = authority
    else:
        district = rng.choice(where["districts"])
        destination = {
            "kind": "address",
            "address": {
                "lines": [f"{rng.randint(1, 99)} Imaginary Terrace"],
                "town": where["town"],
                "postcode": f"{district} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
                f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
                "local_authority": where["authority"],
            },
        }
    establishment = establishment or where["establishment"]
    release_date = today + timedelta(days=release_in_days)
    notice: dict[str, Any] = {
        "prison_number": prison_number(rng),
        "nhs_number": nhs_number(rng),
        "given_name": rng.choice(GIVEN_NAMES),
        "family_name": rng.choice(FAMILY_NAMES),
        "date_of_birth": born.isoformat(),
        "establishment_code": establishment,
        "release": {
            "date": release_date.isoformat(),
            "type": rng.choice(["conditional", "end_of_sentence", "home_detention_curfew", "parole"]),
            "destination": destination,
        },
        "medications": [
            {
                "name": "Sertraline",
                "strength": "100 mg",
                "dose": "one tablet",
                "frequency": "once daily",
                "route": "oral",
                "indication": "depression",
                "supply_days_given": 7,
            },
            {
                "name": "Methadone oral solution",
                "strength": "1 mg/ml",
                "dose": "60 ml",
                "frequency": "once daily",
                "route": "oral",
                "indication": "opioid dependence",
                "supply_days_given": 1,
                "controlled_drug": True,
                "opioid_substitution": True,
            },
        ],
        "allergies": [{"substance": "Penicillin", "reaction": "rash"}],
        "mental_health": {
            "urgency": "urgent",
            "diagnoses": ["Recurrent depressive disorder", "Post-traumatic stress disorder"],
            "care_programme_approach": True,
            "care_coordinator": "Prison mental-health in-reach team",
            "risk_flags": ["self_harm", "suicide"],
            "early_warning_signs": "Withdraws to cell, stops eating, gives away belongings.",
            "crisis_plan": "Contact crisis team; remove means; daily welfare check first week.",
            "consent_to_share": consent_to_share,
        },
        "prison_contact": {
            "name": "Healthcare Administrator",
            "role": "Prison healthcare discharge coordinator",
            "phone": "0300 000 0000",
            "email": f"healthcare.{establishment.lower()}@example.org",
        },
    }
    if supply_days is not None:
        for item in notice["medications"]:
            item["supply_days_given"] = supply_days
    if substance_misuse or full:
        notice["substance_misuse"] = {
            "substances": ["Heroin", "Crack cocaine"],
            "current_treatment": "Methadone maintenance",
            "treatment_dose": "60 ml daily",
            "last_dose_given": f"{release_date.isoformat()}T08:00:00Z",
            "consent_to_refer": True,
        }
    if full:
        notice["reporting_instructions"] = {
            "office": f"{where['town']} Probation Office (fictitious)",
            "report_at": f"{release_date.isoformat()}T14:00:00Z",
            "practitioner": "Duty officer",
        }
        notice["reconnect_navigator"] = {
            "name": "Navigator Example",
            "organisation": "RECONNECT (fictitious)",
            "phone": "0300 000 0001",
        }
        notice["legal_information"] = {
            "licence_conditions": ["Reside at the approved address", "Attend appointments with the mental-health team"],
            "mental_health_act_status": "section_47_49",
            "section_117_aftercare": True,
        }
    return notice


def custody_event(
    prison_number: str,
    kind: str,
    *,
    sequence: int,
    establishment_code: str = "DMI",
    **fields: Any,
) -> dict[str, Any]:
    """A custody event as the prison's system would POST it (JSON-ready)."""
    from datetime import UTC, datetime

    return {
        "prison_number": prison_number,
        "sequence": sequence,
        "kind": kind,
        "establishment_code": establishment_code,
        "occurred_at": datetime.now(UTC).isoformat(),
        **fields,
    }
