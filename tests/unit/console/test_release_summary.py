"""The release-day summary tells the person where each medicine's next supply comes from: opioid substitution from
the drug and alcohol service (with the overdose warning), a depot on its date, everything else from the GP."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.console.domain.release_summary import TOLERANCE_WARNING, summary_of

RELEASED = date(2026, 12, 14)


def medicine(name: str, supply_days: int, **flags: Any) -> dict[str, Any]:
    given = {
        "name": name,
        "strength": "1 mg",
        "dose": "one",
        "frequency": "once daily",
        "supply_days_given": supply_days,
    }
    return given | flags


def handover(medications: list[dict[str, Any]], referrals: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "pack": {
            "release": {"date": RELEASED.isoformat()},
            "patient_demographics": {"given_name": "Alex"},
            "medications": medications,
            "distribution_list": [{"agency_code": "SMS-DUR", "agency_name": "Durham Recovery Service (fictitious)"}],
        },
        "referrals": referrals or [],
    }


def advice(summary: dict[str, Any]) -> dict[str, str]:
    return {m["name"].split()[0]: m["next"] for m in summary["medicines"]}


@pytest.mark.hazard("H79")
def test_opioid_substitution_is_sent_to_the_drug_service_that_took_the_person_on_never_the_gp() -> None:
    accepted = {"referral_kind": "substance_misuse", "status": "accepted", "agency_code": "SMS-DUR"}
    meds = [medicine("Methadone", 1, opioid_substitution=True), medicine("Sertraline", 28)]
    said = advice(summary_of(handover(meds, [accepted])))
    assert "Durham Recovery Service (fictitious)" in said["Methadone"] and "GP" not in said["Methadone"]
    assert TOLERANCE_WARNING in said["Methadone"]
    assert said["Sertraline"] == "Get more from your GP before then."


@pytest.mark.hazard("H79")
def test_without_an_accepting_drug_service_the_person_is_still_not_sent_to_a_gp_for_methadone() -> None:
    requested = {"referral_kind": "substance_misuse", "status": "requested", "agency_code": "SMS-DUR"}
    said = advice(summary_of(handover([medicine("Buprenorphine", 2, opioid_substitution=True)], [requested])))
    assert "the drug and alcohol service" in said["Buprenorphine"] and "GP" not in said["Buprenorphine"]


@pytest.mark.hazard("H79")
def test_a_depot_names_the_date_of_its_next_injection() -> None:
    meds = [medicine("Paliperidone", 0, depot=True, next_injection_due="2026-12-21")]
    summary = summary_of(handover(meds))
    assert advice(summary)["Paliperidone"].startswith("Your next injection is due on 21 December 2026.")
    assert summary["medicines"][0]["runs_out"] == RELEASED
