"""What the person leaving prison reads on their release-day summary, worked out from their handover: their GP,
first appointments, each medicine with the day its supply runs out and where the next supply comes from, and where
and when to report. Short sentences, nothing clinical beyond what they must act on.

Where the next supply comes from follows the medicine: opioid substitution (methadone, buprenorphine) is prescribed
by the drug and alcohol service, not by a GP, and a missed dose or a dose taken on top of other drugs is the
overdose risk of the first weeks out; a depot injection is given on a date, not collected from a pharmacy.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.console.domain.uk_time import uk_date, uk_wall_clock

KIND_WORDS = {
    "mental_health": "Mental health team",
    "substance_misuse": "Drug and alcohol service",
    "gp_registration": "GP practice",
}
TOLERANCE_WARNING = (
    "Do not take other drugs or alcohol with it: after time in prison your body is not used to them, "
    "and an overdose is more likely."
)


def gp_sentence(pack: dict[str, Any]) -> str:
    gp = pack.get("gp_practice") or {}
    registered = gp.get("registered") or {}
    requested = gp.get("registration_requested_from") or {}
    if registered:
        return f"Your GP practice is {registered.get('practice_name') or registered.get('ods_code')}."
    if requested:
        return f"We have asked {requested.get('name')} to register you as a patient."
    return "Ask any GP practice near where you live to register you."


def next_supply(medicine: dict[str, Any], runs_out: date, drug_service: str | None) -> str:
    """Where the next supply (or dose) comes from, in one or two sentences."""
    if medicine.get("depot") and medicine.get("next_injection_due"):
        due = date.fromisoformat(medicine["next_injection_due"])
        return f"Your next injection is due on {uk_date(due)}. Ask the team that gives it where to go."
    if medicine.get("opioid_substitution"):
        service = drug_service or "the drug and alcohol service"
        return f"Your next dose comes from {service}: go to them before then. {TOLERANCE_WARNING}"
    return "Get more from your GP before then."


def drug_service_of(handover: dict[str, Any]) -> str | None:
    """The drug and alcohol service that took the person on, by the name the pack's distribution list gives it."""
    names = {d["agency_code"]: d.get("agency_name") for d in handover["pack"].get("distribution_list") or []}
    for referral in handover["referrals"]:
        if referral["referral_kind"] == "substance_misuse" and referral["status"] in ("accepted", "completed"):
            return str(names.get(referral["agency_code"]) or "the drug and alcohol service")
    return None


def summary_of(handover: dict[str, Any]) -> dict[str, Any]:
    pack = handover["pack"]
    released = date.fromisoformat(pack["release"]["date"])
    appointments = [
        {
            "who": KIND_WORDS.get(r["referral_kind"], r["agency_code"]),
            "at": uk_wall_clock(r["first_appointment_at"]),
            "place": r.get("first_appointment_place") or "",
        }
        for r in handover["referrals"]
        if r.get("first_appointment_at") and r["status"] in ("accepted", "completed")
    ]
    drug_service = drug_service_of(handover)
    medicines = []
    for m in pack.get("medications") or []:
        runs_out = released + timedelta(days=int(m["supply_days_given"]))
        name, how = f"{m['name']} {m['strength']}", f"{m['dose']}, {m['frequency']}"
        medicines.append(
            {"name": name, "how": how, "runs_out": runs_out, "next": next_supply(m, runs_out, drug_service)}
        )
    reporting = pack.get("reporting_instructions")
    for referral in handover["referrals"]:
        if referral["referral_kind"] == "reporting_instructions" and referral.get("reporting_instructions"):
            reporting = referral["reporting_instructions"]  # confirmed by probation: theirs wins
    return {
        "name": pack["patient_demographics"]["given_name"],
        "released": released,
        "gp": gp_sentence(pack),
        "appointments": sorted(appointments, key=lambda a: a["at"]),
        "medicines": medicines,
        "reporting": {
            "office": reporting["office"],
            "at": uk_wall_clock(reporting["report_at"]),
            "practitioner": reporting.get("practitioner"),
        }
        if reporting
        else None,
    }
